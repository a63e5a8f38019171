// Rainbow recolouring, the attribute-swap control of Fig 4B (authors' recolor_with_random_rainbow, but seeded):
// in HSV, hue ← 0.25·H + 0.75·g(x, y), where g is a rainbow gradient with random orientation θ ~ U(0, 2π),
// frequency ~ U(0.8, 2.5) and phase ~ U(0, 1) over normalised coordinates; saturation × 1.1 (clipped);
// value unchanged — colours change, positions and shapes do not.
import type { Rng } from "../analysis/rng";
import { clipBox, type Box, type RgbImage } from "./image";

export interface RainbowParams {
  theta: number;
  frequency: number;
  phase: number;
}

/** Draws the gradient parameters from the generator (same order as the authors' draws). */
export function randomRainbow(rng: Rng): RainbowParams {
  return { theta: rng.uniform() * 2 * Math.PI, frequency: 0.8 + 1.7 * rng.uniform(), phase: rng.uniform() };
}

/** Recoloured copy of the image (optionally only inside a box). */
export function recolourRainbow(img: RgbImage, params: RainbowParams, box?: Box): RgbImage {
  const { width: W, height: H } = img;
  const src = img.data;
  const out = new Uint8Array(src);
  const b = box ? clipBox(box, W, H) : ([0, 0, W, H] as Box);
  if (b === null) return { width: W, height: H, data: out };
  const cx = Math.cos(params.theta), sy = Math.sin(params.theta);
  for (let y = b[1]; y < b[3]; y++) {
    const yn = H > 1 ? y / (H - 1) : 0;
    for (let x = b[0]; x < b[2]; x++) {
      const xn = W > 1 ? x / (W - 1) : 0;
      const i = (y * W + x) * 3;
      const r = src[i] / 255, g = src[i + 1] / 255, bl = src[i + 2] / 255;
      const max = Math.max(r, g, bl), min = Math.min(r, g, bl), d = max - min;
      let h = 0;
      if (d > 0) {
        if (max === r) h = ((g - bl) / d + 6) % 6;
        else if (max === g) h = (bl - r) / d + 2;
        else h = (r - g) / d + 4;
        h /= 6;
      }
      const s = max > 0 ? d / max : 0;
      const v = max;
      const grad = (((params.frequency * (xn * cx + yn * sy) + params.phase) % 1) + 1) % 1;
      const h2 = (0.25 * h + 0.75 * grad) % 1;
      const s2 = Math.min(1, s * 1.1);
      const [r2, g2, b2] = hsvToRgb(h2, s2, v);
      out[i] = Math.round(r2 * 255);
      out[i + 1] = Math.round(g2 * 255);
      out[i + 2] = Math.round(b2 * 255);
    }
  }
  return { width: W, height: H, data: out };
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const k = h * 6;
  const sector = Math.floor(k) % 6;
  const f = k - Math.floor(k);
  const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}
