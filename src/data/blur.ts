// Gaussian blur of a box (Fig 8b "object masking"): the authors crop the box, blur it with PIL GaussianBlur
// (radius 20 on ~640-px COCO images) and paste it back; here sharp blurs the crop. The control boxes are
// same-size boxes at random positions that avoid given boxes.
import sharp from "sharp";
import type { Rng } from "../analysis/rng";
import { clipBox, type Box, type RgbImage } from "./image";
import { intersectionArea } from "./placement";

/** Copy of the image with the box blurred (sigma in px; PIL's radius is this sigma). */
export async function blurBox(img: RgbImage, box: Box, sigma = 2): Promise<RgbImage> {
  if (!(Number.isFinite(sigma) && sigma >= 0.3 && sigma <= 1000)) throw new Error(`blurBox: sigma must be in 0.3..1000 px, got ${sigma}`);
  const b = clipBox(box, img.width, img.height);
  if (b === null) throw new Error(`blurBox: box ${JSON.stringify(box)} lies outside the ${img.width}x${img.height} image`);
  const [x0, y0, x1, y1] = b;
  const w = x1 - x0, h = y1 - y0;
  const crop = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x0, top: y0, width: w, height: h })
    .blur(sigma)
    .raw()
    .toBuffer();
  const out = new Uint8Array(img.data);
  for (let y = 0; y < h; y++) out.set(crop.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * img.width + x0) * 3);
  return { width: img.width, height: img.height, data: out };
}

/**
 * `count` boxes of the same size as `box` at random positions inside the image that do not intersect any of
 * `avoid` (≤ `tries` attempts in all; when fewer fit, the found ones are repeated, as in the authors' code;
 * when none fit, the result is empty).
 */
export function randomBoxesLike(rng: Rng, box: Box, count: number, avoid: readonly Box[], width: number, height: number, tries = 500): Box[] {
  const w = box[2] - box[0], h = box[3] - box[1];
  if (w <= 0 || h <= 0 || w > width || h > height) throw new Error(`randomBoxesLike: box ${JSON.stringify(box)} does not fit a ${width}x${height} image`);
  const found: Box[] = [];
  for (let t = 0; t < tries && found.length < count; t++) {
    const x = rng.int(width - w + 1), y = rng.int(height - h + 1);
    const c: Box = [x, y, x + w, y + h];
    if (avoid.every((a) => intersectionArea(a, c) === 0)) found.push(c);
  }
  const out = found.slice();
  for (let i = 0; found.length > 0 && out.length < count; i++) out.push(found[i % found.length]);
  return out;
}
