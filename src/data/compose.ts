// Pasting sprites onto RGB canvases with their alpha as mask (like PIL's paste(img, pos, mask=img)).
import type { Box, RgbImage } from "./image";
import type { Sprite } from "./sprites";

/**
 * Alpha-blends the sprite with its top-left corner at (x, y) (integers; parts outside the canvas are clipped).
 * Returns the object's tight visible box on the canvas, or null when it lies entirely outside.
 */
export function paste(canvas: RgbImage, s: Sprite, x: number, y: number): Box | null {
  if (!Number.isInteger(x) || !Number.isInteger(y)) throw new Error(`paste: position must be integers, got (${x}, ${y})`);
  const { width: W, height: H, data } = canvas;
  const n = s.size;
  const rgba = s.rgba;
  const sx0 = Math.max(0, -x), sy0 = Math.max(0, -y);
  const sx1 = Math.min(n, W - x), sy1 = Math.min(n, H - y);
  for (let sy = sy0; sy < sy1; sy++) {
    let si = (sy * n + sx0) * 4;
    let di = ((y + sy) * W + x + sx0) * 3;
    for (let sx = sx0; sx < sx1; sx++, si += 4, di += 3) {
      const a = rgba[si + 3];
      if (a === 0) continue;
      if (a === 255) {
        data[di] = rgba[si];
        data[di + 1] = rgba[si + 1];
        data[di + 2] = rgba[si + 2];
      } else {
        const b = 255 - a;
        data[di] = (rgba[si] * a + data[di] * b + 127) / 255;
        data[di + 1] = (rgba[si + 1] * a + data[di + 1] * b + 127) / 255;
        data[di + 2] = (rgba[si + 2] * a + data[di + 2] * b + 127) / 255;
      }
    }
  }
  const bx0 = Math.max(0, x + s.box[0]), by0 = Math.max(0, y + s.box[1]);
  const bx1 = Math.min(W, x + s.box[2]), by1 = Math.min(H, y + s.box[3]);
  return bx1 > bx0 && by1 > by0 ? [bx0, by0, bx1, by1] : null;
}
