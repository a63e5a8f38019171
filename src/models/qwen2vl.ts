// Qwen2-VL / Qwen2.5-VL family: dynamic resolution and multimodal rotary positions (M-RoPE).
// - preprocess: Qwen's smart_resize (both sides multiples of patch_size × merge_size, pixel count within
//   [min_pixels, max_pixels], aspect ratio kept), bicubic resize, rescale + normalise → CHW. The vision encoder ONNX
//   takes this image as is (patchification, the 2×2 merge and window attention happen inside the graph).
// - expand: each `<|image_pad|>` becomes (H/patch)·(W/patch)/merge² positions (it depends on the image size).
// - positionIds: 3 rows (temporal, height, width) like HF's get_rope_index: text tokens count up in all rows;
//   an image's tokens sit at (start, start + row, start + column) of the merged grid; text after the image
//   continues at start + max(grid rows, grid columns).
import type { Bundle } from "../engine/bundle";
import { preprocessImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, PositionIds, VisualItems } from "./adapter";
import { eachImage, expandPlaceholder, renderImagePrompt } from "./llava";
import sharp from "sharp";

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Qwen2-VL's smart_resize: [height, width] multiples of `factor` with min ≤ H·W ≤ max pixels. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new Error(`image ${width}x${height}: aspect ratio must be smaller than 200 for Qwen2-VL`);
  let h = roundHalfEven(height / factor) * factor, w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

const num = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`linmech.json lacks ${what} (a Qwen2-VL bundle needs it); re-export the bundle`);
  return v;
};

export function qwen2vlAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const patch = num(m.patch_size, "patch_size"), merge = num(m.merge_size, "merge_size");
  const minPixels = num(m.min_pixels, "min_pixels"), maxPixels = num(m.max_pixels, "max_pixels");
  const factor = patch * merge;
  /** merged-grid rows and columns of an image */
  const gridOf = (p: { height: number; width: number }): [number, number] => [p.height / factor, p.width / factor];
  return {
    family: m.family,
    renderPrompt: (req, text) => renderImagePrompt(bundle, req, text),
    preprocess: (req): Promise<VisualItems> =>
      eachImage(req, async (rgb) => {
        const [h, w] = smartResize(rgb.height, rgb.width, factor, minPixels, maxPixels);
        let img = rgb;
        if (h !== rgb.height || w !== rgb.width) {
          const { data, info } = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
            .resize(w, h, { fit: "fill", kernel: "cubic" })
            .raw()
            .toBuffer({ resolveWithObject: true });
          img = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
        }
        return preprocessImage({ data: img.data, width: img.width, height: img.height, channels: 3 },
          { ...bundle.preprocessor, do_resize: false, do_center_crop: false }, h);
      }),
    expand(ids, visual): ExpandedPrompt {
      const tokens = (k: number) => { const [gh, gw] = gridOf(visual.pixels[k]); return gh * gw; };
      const expanded = expandPlaceholder(ids, m.image_token_id, tokens, visual.pixels.length, "image", m.image_token);
      return { ...expanded, grids: visual.pixels.map(gridOf) };
    },
    positionIds(expanded): PositionIds {
      const T = expanded.ids.length;
      const data = new BigInt64Array(3 * T);
      const grids = expanded.grids;
      if (!grids) throw new Error("qwen2-vl positionIds: the expanded prompt has no image grids (expand() sets them)");
      const spanAt = new Map(expanded.spans.map((s) => [s.start, s]));
      let pos = 0;
      for (let t = 0; t < T; ) {
        const s = spanAt.get(t);
        if (!s) {
          for (let r = 0; r < 3; r++) data[r * T + t] = BigInt(pos);
          pos++, t++;
          continue;
        }
        const [gh, gw] = grids[s.item];
        for (let i = 0; i < gh; i++)
          for (let j = 0; j < gw; j++, t++) {
            data[t] = BigInt(pos);
            data[T + t] = BigInt(pos + i);
            data[2 * T + t] = BigInt(pos + j);
          }
        pos += Math.max(gh, gw);
      }
      return { rows: 3, data };
    },
  };
}
