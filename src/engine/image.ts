// Image input: decode with sharp (a path, an encoded Buffer, or raw RGB/RGBA pixels) and preprocess the way the
// bundle's preprocessor_config.json says (HF image processors: resize, centre crop, rescale, normalise → CHW).
import { existsSync } from "node:fs";
import sharp from "sharp";

type Sharp = ReturnType<typeof sharp>;
type Kernel = "nearest" | "linear" | "cubic" | "lanczos3";
import type { PreprocessorConfig } from "./bundle";

/** Raw pixels, row-major, 3 (RGB) or 4 (RGBA) channels of 8 bits. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: 3 | 4;
}
/** A file path, an encoded image (PNG/JPEG/WebP/... bytes), or raw RGB(A) pixels. */
export type ImageSource = string | Uint8Array | RawImage;

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function describe(src: ImageSource): string {
  if (typeof src === "string") return `image file ${src}`;
  if (src instanceof Uint8Array) return `image buffer (${src.length} bytes)`;
  return `raw image ${src.width}x${src.height}`;
}

function sharpOf(src: ImageSource): Sharp {
  if (typeof src === "string") {
    if (!existsSync(src)) throw new Error(`image file not found: ${src}`);
    return sharp(src);
  }
  if (src instanceof Uint8Array) return sharp(src);
  const channels = src.channels ?? (src.data.length === src.width * src.height * 4 ? 4 : 3);
  if (!Number.isInteger(src.width) || !Number.isInteger(src.height) || src.data.length !== src.width * src.height * channels)
    throw new Error(`raw image: ${src.data.length} bytes do not match ${src.width}x${src.height}x${channels}`);
  return sharp(src.data, { raw: { width: src.width, height: src.height, channels } });
}

async function run(src: ImageSource, pipeline: (s: Sharp) => Sharp): Promise<RgbImage> {
  try {
    const { data, info } = await pipeline(sharpOf(src).removeAlpha().toColourspace("srgb"))
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith("image file not found") || msg.startsWith("raw image:")) throw e;
    throw new Error(`${describe(src)} could not be read as an image (sharp: ${msg})`);
  }
}

/** Decodes any ImageSource to 8-bit RGB. */
export function loadRgb(src: ImageSource): Promise<RgbImage> {
  return run(src, (s) => s);
}

const KERNELS: Record<number, Kernel> = { 0: "nearest", 1: "lanczos3", 2: "linear", 3: "cubic", 4: "linear", 5: "cubic" };

/** Output size of HF's resize for this config and input size. */
function resizeTarget(cfg: PreprocessorConfig, w: number, h: number, fallback: number): [number, number] | undefined {
  if (cfg.do_resize === false) return undefined;
  const size = cfg.size ?? { height: fallback, width: fallback };
  if (size.shortest_edge !== undefined) {
    const s = size.shortest_edge;
    const short = Math.min(w, h), long = Math.max(w, h);
    const newLong = Math.floor((s * long) / short);
    return w <= h ? [s, newLong] : [newLong, s];
  }
  if (size.height !== undefined && size.width !== undefined) return [size.width, size.height];
  return undefined;
}

export interface PixelValues {
  /** CHW float32, normalised (or the layout `dims` names) */
  data: Float32Array;
  height: number;
  width: number;
  /**
   * shape fed as the vision encoder's pixel_values; default [1, 3, height, width]. Families whose encoders take
   * other layouts set it: InternVL tiles [tiles, 3, 448, 448], Qwen2-VL flattened patches [patches, C·T·P·P].
   */
  dims?: number[];
}

/**
 * HF-style preprocessing: RGB → resize (shortest_edge or height×width; bicubic/bilinear by `resample`) →
 * centre crop → rescale → normalise, in float32 arithmetic like the Python processors. `fallbackSize` is the
 * model's image size, used when the config names none.
 */
export async function preprocessImage(src: ImageSource, cfg: PreprocessorConfig, fallbackSize: number): Promise<PixelValues> {
  let img = await loadRgb(src);
  const target = resizeTarget(cfg, img.width, img.height, fallbackSize);
  if (target && (target[0] !== img.width || target[1] !== img.height)) {
    const kernel = KERNELS[cfg.resample ?? 3] ?? "cubic";
    const raw = img;
    img = await run({ data: raw.data, width: raw.width, height: raw.height, channels: 3 }, (s) =>
      s.resize(target[0], target[1], { fit: "fill", kernel }),
    );
  }
  if (cfg.do_center_crop) {
    const c = cfg.crop_size;
    const ch = typeof c === "number" ? c : c?.height ?? fallbackSize;
    const cw = typeof c === "number" ? c : c?.width ?? fallbackSize;
    if (ch > img.height || cw > img.width)
      throw new Error(`image ${img.width}x${img.height} is smaller than the crop ${cw}x${ch} after resizing`);
    const top = Math.floor((img.height - ch) / 2), left = Math.floor((img.width - cw) / 2);
    const out = new Uint8Array(cw * ch * 3);
    for (let y = 0; y < ch; y++) out.set(img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + cw) * 3), y * cw * 3);
    img = { data: out, width: cw, height: ch };
  }
  const { width: W, height: H } = img;
  const f = Math.fround;
  const scale = cfg.do_rescale === false ? 1 : f(cfg.rescale_factor ?? 1 / 255);
  const norm = cfg.do_normalize !== false;
  const mean = (cfg.image_mean ?? [0, 0, 0]).map(f), std = (cfg.image_std ?? [1, 1, 1]).map(f);
  const data = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < H * W; i++) {
      let v = f(img.data[i * 3 + c] * scale);
      if (norm) v = f(f(v - mean[c]) / std[c]);
      data[c * H * W + i] = v;
    }
  return { data, height: H, width: W };
}
