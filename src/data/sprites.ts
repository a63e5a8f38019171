// Object sprites: Twemoji SVGs rasterised by sharp (librsvg) to square RGBA bitmaps, cached per (object, side)
// in memory so that a shard of thousands of scenes rasterises each picture only once per size.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import sharp from "sharp";
import type { Box } from "./image";
import { OBJECT_EMOJI, checkObjectName } from "./objects";

/** A square RGBA bitmap (straight, not premultiplied alpha) and the tight box of its visible pixels. */
export interface Sprite {
  name: string;
  size: number;
  rgba: Uint8Array;
  /** Tight box of pixels with alpha ≥ ALPHA_VISIBLE, relative to the sprite's top-left corner. */
  box: Box;
}

/** Alpha at or above which a pixel counts as part of the object (for boxes and masks). */
export const ALPHA_VISIBLE = 64;

let twemojiDir: string | null = null;
/** Folder holding the Twemoji SVG files (resolved from the installed @twemoji/svg package). */
export function twemojiFolder(): string {
  if (twemojiDir === null) {
    try {
      twemojiDir = dirname(require.resolve("@twemoji/svg/package.json"));
    } catch {
      throw new Error("@twemoji/svg is not installed: run `npm install` at the repository root (it is a dependency of linmech)");
    }
  }
  return twemojiDir;
}

/** The SVG source of an object's picture. */
export function objectSvg(name: string): Buffer {
  checkObjectName(name);
  return readFileSync(join(twemojiFolder(), `${OBJECT_EMOJI[name]}.svg`));
}

const cache = new Map<string, Promise<Sprite>>();
let cachedBytes = 0;
/** Cache budget: the least recently used sprites are dropped beyond this many bytes (large canvases with scale
 * jitter would otherwise keep hundreds of big bitmaps). */
export const SPRITE_CACHE_BYTES = 256 << 20;

/** The object's picture as a `size`×`size` RGBA sprite (rasterised once, then served from memory). */
export function sprite(name: string, size: number): Promise<Sprite> {
  checkObjectName(name);
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new Error(`sprite: size must be an integer number of pixels in 1..4096, got ${size}`);
  }
  const key = `${name}@${size}`;
  let p = cache.get(key);
  if (p !== undefined) {
    // re-insert so that Map order is least-recently-used first
    cache.delete(key);
    cache.set(key, p);
    return p;
  }
  p = rasterise(name, size);
  cache.set(key, p);
  cachedBytes += size * size * 4;
  for (const [k] of cache) {
    if (cachedBytes <= SPRITE_CACHE_BYTES || k === key) break;
    const side = Number(k.slice(k.lastIndexOf("@") + 1));
    cache.delete(k);
    cachedBytes -= side * side * 4;
  }
  p.catch(() => {
    // a failed rasterisation is not cached
    if (cache.get(key) === p) {
      cache.delete(key);
      cachedBytes -= size * size * 4;
    }
  });
  return p;
}

/** Number of sprites currently cached (for tests and diagnostics). */
export function spriteCacheSize(): number {
  return cache.size;
}

async function rasterise(name: string, size: number): Promise<Sprite> {
  // Twemoji art is a 36-unit square; render at about twice the target side, then downsample (smoother edges at
  // the tiny sizes the toy models use).
  const density = Math.max(1, (72 * 2 * size) / 36);
  const { data } = await sharp(objectSvg(name), { density })
    .resize(size, size, { fit: "fill", kernel: "lanczos3" })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (rgba.length !== size * size * 4) throw new Error(`sprite: sharp returned ${rgba.length} bytes for ${name}@${size}`);
  let x0 = size, y0 = size, x1 = 0, y1 = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (rgba[(y * size + x) * 4 + 3] >= ALPHA_VISIBLE) {
        if (x < x0) x0 = x;
        if (y < y0) y0 = y;
        if (x + 1 > x1) x1 = x + 1;
        if (y + 1 > y1) y1 = y + 1;
      }
    }
  }
  if (x1 <= x0) throw new Error(`sprite: ${name} rasterised to an empty picture at ${size}px`);
  return { name, size, rgba, box: [x0, y0, x1, y1] };
}
