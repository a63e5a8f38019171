// InternVL3 family (InternVLForConditionalGeneration, the -hf checkpoints): tiles as InternVLProcessor makes them
// (crop_to_patches, which that processor always turns on).
// - preprocess: the grid of cols × rows tiles (min_patches ≤ cols·rows ≤ max_patches) whose aspect ratio is closest
//   to the image's (ties: more tiles while the image covers more than half of them), the image resized to
//   cols·S × rows·S and cut row by row into S × S tiles, plus the whole image resized to S × S (thumbnail) when
//   there is more than one tile. One visual item per image: pixel_values [tiles, 3, S, S] in one encoder call.
// - expand: each `<IMG_CONTEXT>` becomes `<img>` + tiles × image_seq_length `<IMG_CONTEXT>` + `</img>` (special
//   tokens, so expanding ids equals tokenizing the expanded text).
// - positions: plain 0..T-1 (Qwen2 decoder).
import sharp from "sharp";
import type { Bundle } from "../engine/bundle";
import { preprocessImage, RgbImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, VisualItems } from "./adapter";
import { eachImage, expandPlaceholder, renderImagePrompt, sequentialPositions } from "./llava";

/** GotOcr2's get_optimal_tiled_canvas: [columns, rows] of tiles for an image of height × width. */
export function optimalTiledCanvas(height: number, width: number, tileH: number, tileW: number, minTiles: number, maxTiles: number): [number, number] {
  const grids: [number, number][] = [];
  for (let w = 1; w <= maxTiles; w++) for (let h = 1; h <= maxTiles; h++) if (w * h <= maxTiles && w * h >= minTiles) grids.push([w, h]);
  grids.sort((a, b) => a[0] * a[1] - b[0] * b[1]); // stable, like Python's sorted
  const aspect = width / height, area = width * height;
  let best: [number, number] = [1, 1], bestDiff = Infinity;
  for (const g of grids) {
    const diff = Math.abs(aspect - g[0] / g[1]);
    if (diff < bestDiff) (bestDiff = diff), (best = g);
    else if (diff === bestDiff && area > 0.5 * tileH * tileW * g[0] * g[1]) best = g;
  }
  return best;
}

const KERNEL: Record<number, "nearest" | "linear" | "cubic" | "lanczos3"> = { 0: "nearest", 1: "lanczos3", 2: "linear", 3: "cubic" };

async function resized(img: RgbImage, w: number, h: number, resample: number | undefined): Promise<RgbImage> {
  if (img.width === w && img.height === h) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { fit: "fill", kernel: KERNEL[resample ?? 3] ?? "cubic" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

function crop(img: RgbImage, left: number, top: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + w) * 3), y * w * 3);
  return { data: out, width: w, height: h };
}

export function internvlAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const S = m.image_size;
  const tiles = (m.tiles ?? {}) as { min_patches?: number; max_patches?: number; use_thumbnail?: boolean };
  const pre = bundle.preprocessor;
  const minTiles = tiles.min_patches ?? (pre.min_patches as number | undefined) ?? 1;
  const maxTiles = tiles.max_patches ?? (pre.max_patches as number | undefined) ?? 12;
  const startId = m.start_image_token_id as number | undefined, endId = m.end_image_token_id as number | undefined;
  if (typeof startId !== "number" || typeof endId !== "number")
    throw new Error(`${bundle.dir}/linmech.json lacks start_image_token_id / end_image_token_id (an InternVL bundle needs them); re-export the bundle`);
  const norm = { ...pre, do_resize: false, do_center_crop: false };
  return {
    family: m.family,
    renderPrompt: (req, text) => renderImagePrompt(bundle, req, text),
    preprocess: (req): Promise<VisualItems> =>
      eachImage(req, async (rgb) => {
        const [cols, rows] = maxTiles > 1 ? optimalTiledCanvas(rgb.height, rgb.width, S, S, minTiles, maxTiles) : [1, 1];
        const big = await resized(rgb, cols * S, rows * S, pre.resample);
        const parts: RgbImage[] = [];
        for (let i = 0; i < cols * rows; i++) parts.push(crop(big, (i % cols) * S, Math.floor(i / cols) * S, S, S));
        if (parts.length > 1 && tiles.use_thumbnail !== false) parts.push(await resized(rgb, S, S, pre.resample));
        const data = new Float32Array(parts.length * 3 * S * S);
        for (let k = 0; k < parts.length; k++) {
          const p = await preprocessImage({ ...parts[k], channels: 3 }, norm, S);
          data.set(p.data, k * 3 * S * S);
        }
        return { data, height: S, width: S, dims: [parts.length, 3, S, S] };
      }),
    expand(ids, visual): ExpandedPrompt {
      const tokens = (k: number) => (visual.pixels[k].dims?.[0] ?? 1) * m.tokens_per_image; // tiles × per tile
      return expandPlaceholder(ids, m.image_token_id, tokens, visual.pixels.length, "image", m.image_token, [startId, endId]);
    },
    positionIds(expanded) {
      return sequentialPositions(expanded.ids.length);
    },
  };
}
