// Llama-3.2-Vision family (MllamaForConditionalGeneration, e.g. meta-llama/Llama-3.2-11B-Vision-Instruct). The image
// is not in the token sequence: `<|image|>` stays one ordinary token and the vision states enter the decoder only
// through its cross-attention layers (linmech.json cross_attention: the vision encoder's outputs — every cross-
// attention layer's keys/values of the image, `cross_kv.{i}.key/value`, and the padded-tile key mask
// `cross_attention_key_mask` — are cached per image and fed to the decoder on every call by the engine).
// - renderPrompt: the chat template writes `<|image|>` where the image goes; a raw prompt (chat: false) gets
//   `<|begin_of_text|>` after its leading `<|image|>` tokens when it has none, as MllamaProcessor does.
// - preprocess: MllamaImageProcessor — the tile canvas (rows × columns of S px tiles, rows·columns ≤ max_image_tiles)
//   that needs the least upscaling (or, if none fits, the least downscaling; ties → smallest area), the image resized
//   to fit it keeping its aspect ratio (PIL's resampling, reimplemented bit-exactly below), zero-padded at the
//   bottom/right to the canvas, rescaled/normalised, cut row by row into tiles and packed into max_image_tiles
//   slots (unused slots 0). aspect_ratio_ids = 1 + index of (rows, columns) in the supported list, aspect_ratio_mask
//   = 1 for the used tiles. One image per prompt: pixel_values [1, 1, max_tiles, 3, S, S] + those two as the item's
//   extra vision inputs.
// - expand: nothing to expand; the `<|image|>` token is recorded as the image's span (length 1) so imageTokens()
//   finds it, but nothing is written into the embeddings there.
// - positionIds: 2 rows, as the exported decoder takes them (tools/export/families/mllama.py): row 0 = 0..T-1
//   (Llama-3 RoPE), row 1 = 0 before the `<|image|>` token and 1 from it on (HF's cross-attention mask: tokens
//   before the image have their row masked out — in transformers they still attend to every tile, padded ones too,
//   and only the cross-attention MLP output is zeroed for them). Decode steps get max(position)+1 ≥ 1: they see the
//   image, as in HF's generate.
// Several images per prompt are not supported (HF gives each image its own token range; one row cannot say which).
import * as ort from "onnxruntime-node";
import type { Bundle } from "../engine/bundle";
import { loadRgb, preprocessImage, RgbImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, PositionIds, VisualItems, VisualSpan } from "./adapter";
import { asList, renderWithPlaceholders } from "./llava";

/** (rows, columns) tile arrangements with rows·columns ≤ maxTiles, in MllamaImageProcessor's order. */
export function supportedAspectRatios(maxTiles: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 1; a <= maxTiles; a++) for (let b = 1; b <= maxTiles; b++) if (a * b <= maxTiles) out.push([a, b]);
  return out;
}

/** MllamaImageProcessor's get_optimal_tiled_canvas: [canvas height, canvas width] in pixels. */
export function optimalTiledCanvas(height: number, width: number, maxTiles: number, tile: number): [number, number] {
  const canvases = supportedAspectRatios(maxTiles).map(([a, b]) => [a * tile, b * tile] as [number, number]);
  const scales = canvases.map(([h, w]) => {
    const sh = h / height, sw = w / width;
    return sw > sh ? sh : sw;
  });
  const up = scales.filter((s) => s >= 1);
  const selected = up.length ? Math.min(...up) : Math.max(...scales.filter((s) => s < 1));
  let best = -1;
  canvases.forEach((c, i) => {
    if (scales[i] !== selected) return;
    if (best < 0 || c[0] * c[1] < canvases[best][0] * canvases[best][1]) best = i;
  });
  return canvases[best];
}

/** MllamaImageProcessor's get_image_size_fit_to_canvas: [new height, new width]. */
export function fitToCanvas(height: number, width: number, canvasH: number, canvasW: number, tile: number): [number, number] {
  const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const tw = clip(width, tile, canvasW), th = clip(height, tile, canvasH);
  const sh = th / height, sw = tw / width;
  if (sw < sh) return [Math.min(Math.floor(height * sw) || 1, th), tw];
  return [th, Math.min(Math.floor(width * sh) || 1, tw)];
}

// PIL's Image.resize for 8-bit images (Pillow's ImagingResample: separable horizontal then vertical pass, filter
// support scaled by the downscaling factor, coefficients normalised and rounded to 22-bit fixed point, each pass
// rounded and clipped to 8 bits). Reimplemented from its documented algorithm so pixel values equal the Python
// processor's exactly.
const PRECISION_BITS = 32 - 8 - 2;
const FILTERS: Record<number, { support: number; f: (x: number) => number }> = {
  2: { support: 1, f: (x) => (x < 0 && (x = -x), x < 1 ? 1 - x : 0) }, // BILINEAR
  3: {
    support: 2, // BICUBIC, a = -0.5
    f: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

function coeffs(inSize: number, outSize: number, filter: { support: number; f: (x: number) => number }) {
  const scale = inSize / outSize, filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), kk = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale, ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.f((x + xmin - center + 0.5) * ss);
      kk[xx * ksize + x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) if (ww !== 0) kk[xx * ksize + x] /= ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  const ik = new Float64Array(kk.length);
  for (let i = 0; i < kk.length; i++) ik[i] = Math.trunc(kk[i] < 0 ? -0.5 + kk[i] * (1 << PRECISION_BITS) : 0.5 + kk[i] * (1 << PRECISION_BITS));
  return { bounds, k: ik, ksize };
}

const clip8 = (v: number) => (v <= 0 ? 0 : v >= 255 * 2 ** PRECISION_BITS ? 255 : Math.floor(v / 2 ** PRECISION_BITS));

/** Resizes 8-bit RGB like PIL's Image.resize((w, h), resample) with reducing_gap None (BILINEAR or BICUBIC). */
export function pilResize(img: RgbImage, w: number, h: number, resample: number): RgbImage {
  const filter = FILTERS[resample];
  if (!filter) throw new Error(`resample ${resample} is not supported for Llama-3.2-Vision preprocessing (2 = bilinear, 3 = bicubic)`);
  let cur = img;
  const half = 2 ** (PRECISION_BITS - 1);
  if (w !== cur.width) {
    const { bounds, k, ksize } = coeffs(cur.width, w, filter);
    const out = new Uint8Array(w * cur.height * 3);
    for (let y = 0; y < cur.height; y++)
      for (let xx = 0; xx < w; xx++) {
        const xmin = bounds[2 * xx], n = bounds[2 * xx + 1];
        for (let c = 0; c < 3; c++) {
          let ss = half;
          for (let x = 0; x < n; x++) ss += cur.data[(y * cur.width + xmin + x) * 3 + c] * k[xx * ksize + x];
          out[(y * w + xx) * 3 + c] = clip8(ss);
        }
      }
    cur = { data: out, width: w, height: cur.height };
  }
  if (h !== cur.height) {
    const { bounds, k, ksize } = coeffs(cur.height, h, filter);
    const out = new Uint8Array(cur.width * h * 3);
    for (let yy = 0; yy < h; yy++) {
      const ymin = bounds[2 * yy], n = bounds[2 * yy + 1];
      for (let x = 0; x < cur.width; x++)
        for (let c = 0; c < 3; c++) {
          let ss = half;
          for (let y = 0; y < n; y++) ss += cur.data[((ymin + y) * cur.width + x) * 3 + c] * k[yy * ksize + y];
          out[(yy * cur.width + x) * 3 + c] = clip8(ss);
        }
    }
    cur = { data: out, width: cur.width, height: h };
  }
  return cur;
}

export interface MllamaImage {
  /** [maxTiles, 3, S, S] */
  pixels: Float32Array;
  aspectRatioId: number;
  /** used tiles: rows × columns */
  tiles: [number, number];
}

/** MllamaImageProcessor for one image (do_resize and do_pad are always on there). */
export async function mllamaPreprocess(
  rgb: RgbImage, tile: number, maxTiles: number, pre: Bundle["preprocessor"],
): Promise<MllamaImage> {
  const [ch, cw] = optimalTiledCanvas(rgb.height, rgb.width, maxTiles, tile);
  const rows = ch / tile, cols = cw / tile;
  const [nh, nw] = fitToCanvas(rgb.height, rgb.width, ch, cw, tile);
  const img = nh === rgb.height && nw === rgb.width ? rgb : pilResize(rgb, nw, nh, pre.resample ?? 2);
  const canvas = new Uint8Array(cw * ch * 3); // zero padding at the bottom and right
  for (let y = 0; y < nh; y++) canvas.set(img.data.subarray(y * nw * 3, (y + 1) * nw * 3), y * cw * 3);
  const norm = await preprocessImage({ data: canvas, width: cw, height: ch, channels: 3 }, { ...pre, do_resize: false, do_center_crop: false }, tile);
  const pixels = new Float32Array(maxTiles * 3 * tile * tile);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const t = i * cols + j;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < tile; y++) {
          const src = c * ch * cw + (i * tile + y) * cw + j * tile;
          pixels.set(norm.data.subarray(src, src + tile), ((t * 3 + c) * tile + y) * tile);
        }
    }
  const idx = supportedAspectRatios(maxTiles).findIndex(([a, b]) => a === rows && b === cols);
  return { pixels, aspectRatioId: idx + 1, tiles: [rows, cols] };
}

export function mllamaAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const S = m.image_size;
  const maxTiles = (m.max_image_tiles as number | undefined) ?? (bundle.preprocessor.max_image_tiles as number | undefined) ?? 4;
  const bos = (m.bos_token as string | undefined) ?? "<|begin_of_text|>";
  const image = m.image_token;
  if (!m.cross_attention) throw new Error(`${bundle.dir}/linmech.json lacks cross_attention (a Llama-3.2-Vision bundle needs it); re-export the bundle`);
  const oneImage = (n: number) => {
    if (n !== 1)
      throw new Error(`${bundle.name} (Llama-3.2-Vision): pass exactly one image per prompt (got ${n}); several images per prompt are not supported`);
  };
  return {
    family: m.family,
    renderPrompt(req, text) {
      if (req.frames?.length) throw new Error(`${bundle.name} (family ${m.family}) takes images, not frames`);
      oneImage(asList(req.image).length);
      const prompt = renderWithPlaceholders(req, text, "image", 1, image);
      if (prompt.includes(bos)) return prompt;
      // MllamaProcessor's build_string_from_input: <|begin_of_text|> after the leading <|image|> tokens
      let lead = 0, rest = prompt;
      while (rest.startsWith(image)) (rest = rest.slice(image.length)), lead++;
      return image.repeat(lead) + bos + rest;
    },
    async preprocess(req): Promise<VisualItems> {
      const images = asList(req.image);
      oneImage(images.length);
      const pixels = [], itemInputs = [];
      for (const src of images) {
        const p = await mllamaPreprocess(await loadRgb(src), S, maxTiles, bundle.preprocessor);
        pixels.push({ data: p.pixels, height: S, width: S, dims: [1, 1, maxTiles, 3, S, S] });
        const mask = new BigInt64Array(maxTiles);
        for (let t = 0; t < p.tiles[0] * p.tiles[1]; t++) mask[t] = 1n;
        mask[0] = 1n;
        itemInputs.push({
          aspect_ratio_ids: new ort.Tensor("int64", BigInt64Array.from([BigInt(p.aspectRatioId)]), [1, 1]),
          aspect_ratio_mask: new ort.Tensor("int64", mask, [1, 1, maxTiles]),
        });
      }
      return { pixels, itemInputs };
    },
    expand(ids, visual): ExpandedPrompt {
      const spans: VisualSpan[] = [];
      ids.forEach((id, t) => {
        if (id === m.image_token_id) spans.push({ kind: "image", start: t, length: 1, item: spans.length });
      });
      if (spans.length !== visual.pixels.length)
        throw new Error(`prompt has ${spans.length} ${image} placeholder(s) but ${visual.pixels.length} image(s) were given`);
      return { ids, spans };
    },
    positionIds(expanded): PositionIds {
      const T = expanded.ids.length;
      const first = expanded.spans.length ? expanded.spans[0].start : T;
      const data = new BigInt64Array(2 * T);
      for (let t = 0; t < T; t++) (data[t] = BigInt(t)), (data[T + t] = t >= first ? 1n : 0n);
      return { rows: 2, data };
    },
  };
}
