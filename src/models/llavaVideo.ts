// LLaVA-NeXT-Video layout (LlavaNextVideoForConditionalGeneration; bundle family "llava-video", toy-llava-video):
// frames go through the vision encoder one by one; the single `<video>` placeholder (or `<image>` when the bundle has
// no video token) expands to frames × tokens_per_frame positions, frame after frame; plain 1-row positions.
// LLaVA-Video-7B-Qwen2 in its transformers form (LlavaOnevisionForConditionalGeneration, one image_newline after the
// clip) is the "llava-onevision" family: llavaOnevision.ts.
import type { Bundle } from "../engine/bundle";
import { preprocessImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, VisualItems, VisualSpan } from "./adapter";
import { renderWithPlaceholders, sequentialPositions } from "./llava";

export function llavaVideoAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const token = m.video_token ?? m.image_token;
  const tokenId = m.video_token_id ?? m.image_token_id;
  const perFrame = m.tokens_per_frame ?? m.tokens_per_image;
  const maxFrames = m.max_frames ?? 8;
  return {
    family: "llava-video",
    renderPrompt(req, text) {
      if (req.image !== undefined) throw new Error(`${bundle.name} (family llava-video) takes frames, not an image; pass frames: [...]`);
      return renderWithPlaceholders(req, text, "video", req.frames?.length ? 1 : 0, token);
    },
    async preprocess(req): Promise<VisualItems> {
      const frames = req.frames ?? [];
      if (frames.length > maxFrames)
        throw new Error(`too many frames: ${frames.length} given, ${bundle.name} takes at most ${maxFrames} (max_frames in linmech.json)`);
      const pixels = await Promise.all(frames.map((f) => preprocessImage(f, bundle.preprocessor, m.image_size)));
      return { pixels };
    },
    expand(ids, visual): ExpandedPrompt {
      const found = ids.filter((x) => x === tokenId).length;
      const want = visual.pixels.length > 0 ? 1 : 0;
      if (found !== want) throw new Error(`prompt has ${found} ${token} placeholder token(s); expected ${want}`);
      const out: number[] = [];
      const spans: VisualSpan[] = [];
      for (const id of ids) {
        if (id !== tokenId) { out.push(id); continue; }
        for (let f = 0; f < visual.pixels.length; f++) {
          spans.push({ kind: "frame", start: out.length, length: perFrame, item: f });
          for (let k = 0; k < perFrame; k++) out.push(id);
        }
      }
      return { ids: out, spans };
    },
    positionIds(expanded) {
      return sequentialPositions(expanded.ids.length);
    },
  };
}
