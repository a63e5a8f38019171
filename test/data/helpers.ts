// Pixel helpers shared by the scene-engine tests.
import type { Box, RgbImage } from "linmech";

/** Number of pixels inside the box whose colour differs from `other` at the same place by more than tol. */
export function changedPixels(a: RgbImage, b: RgbImage, box: Box, tol = 0): number {
  let n = 0;
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) {
      const i = (y * a.width + x) * 3;
      if (Math.abs(a.data[i] - b.data[i]) > tol || Math.abs(a.data[i + 1] - b.data[i + 1]) > tol || Math.abs(a.data[i + 2] - b.data[i + 2]) > tol) n++;
    }
  }
  return n;
}

/** Number of non-black pixels inside the box. */
export function litPixels(img: RgbImage, box: Box): number {
  let n = 0;
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) {
      const i = (y * img.width + x) * 3;
      if (img.data[i] + img.data[i + 1] + img.data[i + 2] > 0) n++;
    }
  }
  return n;
}

export function centre(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
