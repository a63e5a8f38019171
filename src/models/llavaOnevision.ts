// LLaVA-OneVision family as a video model (LlavaOnevisionForConditionalGeneration: LLaVA-Video-7B-Qwen2 in its
// transformers form; tools/export/families/llava_onevision.py).
// - preprocess: like LlavaOnevisionVideoProcessor: each frame resized to size {height, width} (torchvision's
//   bicubic with antialias on a uint8 tensor, which on CPU is torch's fixed-point uint8 kernel; a frame already at
//   that size is left alone), then the fused rescale + normalise (x − mean/r) / (std/r) in float32.
// - expand: the one `<video>` placeholder becomes frames × tokens_per_frame positions (2×2-pooled patch grid per
//   frame) + 1: transformers appends ONE image_newline vector after the last frame. The last frame's span is
//   tokens_per_frame + 1 long and its vision call gets append_newline = 1 (a per-item vision input), so the
//   features equal HF's get_video_features.
// - positions: plain 1-row 0..T-1 (Qwen2 decoder).
// Still images (LLaVA-OneVision's anyres tiles with per-row newlines) are not exported: an image is refused with a
// message to pass frames.
import * as ort from "onnxruntime-node";
import type { Bundle } from "../engine/bundle";
import { loadRgb, type PixelValues, type RgbImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, VisualItems, VisualSpan } from "./adapter";
import { renderWithPlaceholders, sequentialPositions } from "./llava";

interface VideoPreprocessor {
  do_resize?: boolean;
  size?: { height: number; width: number };
  resample?: number;
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number[];
  image_std?: number[];
}

/** Keys' cubic convolution kernel, a = −0.5 (torch's antialiased bicubic filter). */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/**
 * One axis of torch's antialiased bicubic resize of uint8 images: per output index the first input index and
 * integer weights (double weights normalised to sum 1, scaled by 2^precision, the largest precision ≤ 22 whose
 * weights fit int16, rounded half away from zero).
 */
function aaWeights(inSize: number, outSize: number): { ranges: { start: number; w: Int32Array }[]; precision: number } {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const inv = scale >= 1 ? 1 / scale : 1;
  const real: { start: number; w: number[] }[] = [];
  let wmax = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w = Array.from({ length: xsize }, (_, j) => cubic((j + xmin - center + 0.5) * inv));
    const total = w.reduce((a, b) => a + b, 0);
    const wn = total !== 0 ? w.map((v) => v / total) : w;
    for (const v of wn) wmax = Math.max(wmax, v);
    real.push({ start: xmin, w: wn });
  }
  let precision = 0;
  while (precision < 22 && Math.trunc(0.5 + wmax * 2 ** (precision + 1)) < 2 ** 15) precision++;
  const k = 2 ** precision;
  const ranges = real.map(({ start, w }) => ({ start, w: Int32Array.from(w, (v) => Math.trunc(v < 0 ? v * k - 0.5 : v * k + 0.5)) }));
  return { ranges, precision };
}

/** One resampling pass along width (axis "x") or height ("y") of an RGB uint8 image, rounded and clamped. */
function resamplePass(img: RgbImage, out: number, axis: "x" | "y"): RgbImage {
  const { width: W, height: H, data } = img;
  const { ranges, precision } = aaWeights(axis === "x" ? W : H, out);
  const oW = axis === "x" ? out : W, oH = axis === "x" ? H : out;
  const res = new Uint8Array(oW * oH * 3);
  const half = 2 ** (precision - 1), k = 2 ** precision;
  for (let y = 0; y < oH; y++)
    for (let x = 0; x < oW; x++) {
      const { start, w } = ranges[axis === "x" ? x : y];
      for (let c = 0; c < 3; c++) {
        let s = half;
        for (let j = 0; j < w.length; j++) {
          const px = axis === "x" ? data[(y * W + start + j) * 3 + c] : data[((start + j) * W + x) * 3 + c];
          s += w[j] * px;
        }
        res[(y * oW + x) * 3 + c] = Math.min(255, Math.max(0, Math.floor(s / k)));
      }
    }
  return { data: res, width: oW, height: oH };
}

/**
 * uint8 RGB → outW × outH as torchvision's resize(BICUBIC, antialias=True) of a uint8 tensor on CPU, i.e. torch's
 * uint8 antialiased bicubic kernel (the PIL-style fixed-point algorithm): width pass, then height pass, each rounded
 * to uint8. Checked bit-exact against torch.nn.functional.interpolate (test/families/llava_video.test.ts).
 */
export function resizeBicubicAntialias(img: RgbImage, outW: number, outH: number): RgbImage {
  let out = img;
  if (out.width !== outW) out = resamplePass(out, outW, "x");
  if (out.height !== outH) out = resamplePass(out, outH, "y");
  return out;
}

/** The video processor's fused rescale + normalise: (x − mean/r) / (std/r) in float32, CHW. */
function normalise(img: RgbImage, p: VideoPreprocessor): PixelValues {
  const f = Math.fround;
  const { width: W, height: H } = img;
  const r = p.rescale_factor ?? 1 / 255;
  const rescale = p.do_rescale !== false, norm = p.do_normalize !== false;
  const mean = (p.image_mean ?? [0, 0, 0]).map((v) => (rescale ? f(f(v) * f(1 / r)) : f(v)));
  const std = (p.image_std ?? [1, 1, 1]).map((v) => (rescale ? f(f(v) * f(1 / r)) : f(v)));
  const data = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < H * W; i++) {
      const x = img.data[i * 3 + c];
      data[c * H * W + i] = norm ? f(f(x - mean[c]) / std[c]) : rescale ? f(x * f(r)) : x;
    }
  return { data, height: H, width: W };
}

export function llavaOnevisionAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined || v === null) throw new Error(`linmech.json lacks ${what} (a ${m.family} bundle needs it); re-export the bundle with tools/export`);
    return v;
  };
  const token = need(m.video_token, "video_token"), tokenId = need(m.video_token_id, "video_token_id");
  const perFrame = need(m.tokens_per_frame, "tokens_per_frame");
  const maxFrames = m.max_frames ?? 64;
  const pre = need(m.video_preprocessor as VideoPreprocessor | undefined, "video_preprocessor");
  const size = pre.do_resize === false ? undefined : need(pre.size, "video_preprocessor.size");
  if (pre.do_resize !== false && pre.resample !== undefined && pre.resample !== 3)
    throw new Error(`${bundle.name}: the video processor resizes with resample=${pre.resample}; only bicubic (3) is implemented`);
  const newlineOf = (last: boolean) => ({ append_newline: new ort.Tensor("int64", BigInt64Array.from([last ? 1n : 0n]), [1]) });
  return {
    family: m.family,
    renderPrompt(req, text) {
      if (req.image !== undefined)
        throw new Error(
          `${bundle.name} (family ${m.family}, e.g. LLaVA-Video) takes video frames, not images: pass frames: [...] ` +
            `(LLaVA-OneVision's still-image anyres path is not exported; one image can be passed as a one-frame clip, frames: [image])`,
        );
      return renderWithPlaceholders(req, text, "video", req.frames?.length ? 1 : 0, token);
    },
    async preprocess(req): Promise<VisualItems> {
      const frames = req.frames ?? [];
      if (frames.length > maxFrames)
        throw new Error(`too many frames: ${frames.length} given, ${bundle.name} takes at most ${maxFrames} (max_frames in linmech.json)`);
      const pixels = await Promise.all(
        frames.map(async (src) => {
          let img = await loadRgb(src);
          if (size) img = resizeBicubicAntialias(img, size.width, size.height);
          return normalise(img, pre);
        }),
      );
      return { pixels, itemInputs: pixels.map((_, f) => newlineOf(f === pixels.length - 1)) };
    },
    expand(ids, visual): ExpandedPrompt {
      const found = ids.filter((x) => x === tokenId).length;
      const want = visual.pixels.length > 0 ? 1 : 0;
      if (found !== want) throw new Error(`prompt has ${found} ${token} placeholder token(s); expected ${want} (one per clip)`);
      const out: number[] = [];
      const spans: VisualSpan[] = [];
      const F = visual.pixels.length;
      for (const id of ids) {
        if (id !== tokenId) { out.push(id); continue; }
        for (let f = 0; f < F; f++) {
          const length = perFrame + (f === F - 1 ? 1 : 0); // the image_newline after the last frame
          spans.push({ kind: "frame", start: out.length, length, item: f });
          for (let k = 0; k < length; k++) out.push(id);
        }
      }
      return { ids: out, spans };
    },
    positionIds(expanded) {
      return sequentialPositions(expanded.ids.length);
    },
  };
}
