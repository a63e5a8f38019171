// Raw RGB images: the one in-memory picture format of the scene engine. Compositing happens on these plain
// buffers in JavaScript (thousands of 64-px scenes per second); sharp is used for rasterising, blurring and PNG.
import sharp from "sharp";

/** A row-major, interleaved 8-bit RGB image (`data.length === width * height * 3`). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A pixel box `[x0, y0, x1, y1]`: x0/y0 inclusive, x1/y1 exclusive (like PIL's crop boxes). */
export type Box = [number, number, number, number];

/** A new image filled with one colour (default black). */
export function blankImage(width: number, height: number, rgb: [number, number, number] = [0, 0, 0]): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`blankImage: width and height must be positive integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  if (rgb[0] !== 0 || rgb[1] !== 0 || rgb[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = rgb[0];
      data[i + 1] = rgb[1];
      data[i + 2] = rgb[2];
    }
  }
  return { width, height, data };
}

/** A deep copy. */
export function cloneImage(img: RgbImage): RgbImage {
  return { width: img.width, height: img.height, data: new Uint8Array(img.data) };
}

/** Encodes an image as PNG bytes with sharp. */
export async function toPng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
}

/** Decodes any image sharp reads (PNG, JPEG, ...) into RGB (alpha is flattened onto black). */
export async function fromImageFile(input: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input).flatten({ background: "#000000" }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Clips a box to the image; returns null when nothing is left. */
export function clipBox(box: Box, width: number, height: number): Box | null {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(width, Math.ceil(box[2]));
  const y1 = Math.min(height, Math.ceil(box[3]));
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
}

/** Centre `[cx, cy]` of a box. */
export function boxCentre(box: Box): [number, number] {
  return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
}
