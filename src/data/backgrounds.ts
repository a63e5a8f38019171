// Seeded backgrounds: textured/noisy canvases for cluttered scenes (the COCO stand-in) and a ground plane with a
// horizon for depth scenes. Pixel noise is uniform (cheap) so shards stay at thousands of scenes per second.
import type { Rng } from "../analysis/rng";
import { blankImage, type RgbImage } from "./image";

type Rgb = [number, number, number];

function randomColour(rng: Rng, lo = 30, hi = 225): Rgb {
  return [lo + rng.int(hi - lo), lo + rng.int(hi - lo), lo + rng.int(hi - lo)];
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Adds uniform noise of ±amp to every channel. */
export function addNoise(img: RgbImage, rng: Rng, amp: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = clamp255(d[i] + (rng.uniform() - 0.5) * 2 * amp);
}

/** Linear gradient between two colours along a random direction. */
function gradient(img: RgbImage, rng: Rng, c0: Rgb, c1: Rgb): void {
  const { width: W, height: H, data } = img;
  const th = rng.uniform() * 2 * Math.PI;
  const ux = Math.cos(th), uy = Math.sin(th);
  const span = Math.abs(ux) * W + Math.abs(uy) * H;
  const off = (ux < 0 ? -ux * W : 0) + (uy < 0 ? -uy * H : 0);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = (x * ux + y * uy + off) / span;
      const i = (y * W + x) * 3;
      data[i] = c0[0] + (c1[0] - c0[0]) * t;
      data[i + 1] = c0[1] + (c1[1] - c0[1]) * t;
      data[i + 2] = c0[2] + (c1[2] - c0[2]) * t;
    }
  }
}

/** Smooth colour blobs: a coarse grid of random colours, bilinearly upsampled. */
function blobs(img: RgbImage, rng: Rng): void {
  const { width: W, height: H, data } = img;
  const g = 3 + rng.int(4);
  const grid: Rgb[] = Array.from({ length: (g + 1) * (g + 1) }, () => randomColour(rng));
  for (let y = 0; y < H; y++) {
    const gy = (y / H) * g, y0 = Math.floor(gy), fy = gy - y0;
    for (let x = 0; x < W; x++) {
      const gx = (x / W) * g, x0 = Math.floor(gx), fx = gx - x0;
      const a = grid[y0 * (g + 1) + x0], b = grid[y0 * (g + 1) + x0 + 1];
      const c = grid[(y0 + 1) * (g + 1) + x0], d = grid[(y0 + 1) * (g + 1) + x0 + 1];
      const i = (y * W + x) * 3;
      for (let k = 0; k < 3; k++) {
        data[i + k] = (a[k] * (1 - fx) + b[k] * fx) * (1 - fy) + (c[k] * (1 - fx) + d[k] * fx) * fy;
      }
    }
  }
}

/** Soft stripes (floor tiles, fences, shelves) at a random angle and period. */
function stripes(img: RgbImage, rng: Rng, c0: Rgb, c1: Rgb): void {
  const { width: W, height: H, data } = img;
  const th = rng.uniform() * Math.PI;
  const period = 4 + rng.uniform() * 12;
  const ux = Math.cos(th), uy = Math.sin(th);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = 0.5 + 0.5 * Math.sin(((x * ux + y * uy) / period) * 2 * Math.PI);
      const i = (y * W + x) * 3;
      data[i] = c0[0] + (c1[0] - c0[0]) * t;
      data[i + 1] = c0[1] + (c1[1] - c0[1]) * t;
      data[i + 2] = c0[2] + (c1[2] - c0[2]) * t;
    }
  }
}

export type TextureStyle = "gradient" | "blobs" | "stripes";
const STYLES: readonly TextureStyle[] = ["gradient", "blobs", "stripes"];

export interface TextureOptions {
  /** Styles to choose from (default all three). */
  styles?: readonly TextureStyle[];
  /** Largest pixel-noise amplitude (default 30). */
  noise?: number;
}

/** A random textured background: gradient, colour blobs or stripes, plus pixel noise. */
export function texturedBackground(rng: Rng, width: number, height: number, opts: TextureOptions = {}): RgbImage {
  const img = blankImage(width, height);
  const styles = opts.styles ?? STYLES;
  for (const st of styles) if (!STYLES.includes(st)) throw new Error(`texturedBackground: unknown style ${JSON.stringify(st)}; use ${STYLES.join(", ")}`);
  const style = STYLES.indexOf(styles[rng.int(styles.length)]);
  const c0 = randomColour(rng), c1 = randomColour(rng);
  if (style === 0) gradient(img, rng, c0, c1);
  else if (style === 1) blobs(img, rng);
  else stripes(img, rng, c0, [(c0[0] + c1[0]) / 2, (c0[1] + c1[1]) / 2, (c0[2] + c1[2]) / 2]);
  const noise = opts.noise ?? 30;
  addNoise(img, rng, Math.min(8, noise) + rng.uniform() * Math.max(0, noise - 8));
  return img;
}

/**
 * Sky above the horizon row, ground below, with ground stripes that crowd together towards the horizon
 * (a perspective cue), plus pixel noise.
 */
export function groundBackground(rng: Rng, width: number, height: number, horizon: number): RgbImage {
  const img = blankImage(width, height);
  const { data } = img;
  const sky0: Rgb = [90 + rng.int(60), 140 + rng.int(60), 190 + rng.int(60)];
  const sky1: Rgb = [200 + rng.int(50), 210 + rng.int(40), 220 + rng.int(35)];
  const ground: Rgb = [60 + rng.int(80), 70 + rng.int(90), 30 + rng.int(60)];
  const stripeAmp = 0.12 + rng.uniform() * 0.12;
  const phase = rng.uniform();
  for (let y = 0; y < height; y++) {
    let c: Rgb;
    if (y < horizon) {
      const t = y / Math.max(1, horizon);
      c = [sky0[0] + (sky1[0] - sky0[0]) * t, sky0[1] + (sky1[1] - sky0[1]) * t, sky0[2] + (sky1[2] - sky0[2]) * t];
    } else {
      // depth of this row on a flat ground seen from height 1: z ∝ 1 / (y − horizon)
      const z = (height - horizon) / Math.max(0.5, y - horizon + 0.5);
      const band = 1 + stripeAmp * Math.sin((z * 3 + phase) * 2 * Math.PI);
      const haze = Math.min(1, (z - 1) / 8);
      c = [0, 1, 2].map((k) => ground[k] * band * (1 - haze) + sky1[k] * 0.6 * haze) as Rgb;
    }
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = clamp255(c[0]);
      data[i + 1] = clamp255(c[1]);
      data[i + 2] = clamp255(c[2]);
    }
  }
  addNoise(img, rng, 6 + rng.uniform() * 10);
  return img;
}
