// Gemma-3 family (Gemma3ForConditionalGeneration; pan-and-scan off, the processor's default): one 896 px view per
// image (the bundle's image_size), tokens_per_image soft tokens.
// - renderPrompt: the chat template writes `<start_of_image>` where an image goes; like Gemma3Processor, each is
//   replaced in the text by "\n\n<start_of_image>" + tokens_per_image × `<image_soft_token>` + "<end_of_image>\n\n"
//   before tokenizing (the newlines tokenize together with the text around them, as in the processor).
// - expand: each run of soft tokens is one image span (the features replace the soft tokens).
// - positionIds: 2 rows, as the exported decoder takes them (tools/export/families/gemma3.py): row 0 = 0..T-1,
//   row 1 = image block id (k for the k-th image's soft tokens, -1 for text): tokens of one image attend to each
//   other in both directions. Decode steps get a fresh id in row 1, which only matches the token itself.
import type { Bundle } from "../engine/bundle";
import { preprocessImage } from "../engine/image";
import type { ExpandedPrompt, ModelAdapter, PositionIds, VisualItems, VisualSpan } from "./adapter";
import { asList, renderWithPlaceholders } from "./llava";

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string" || !v) throw new Error(`linmech.json lacks ${what} (a Gemma-3 bundle needs it); re-export the bundle`);
  return v;
};

export function gemma3Adapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  const boi = str(m.boi_token, "boi_token"), eoi = str(m.eoi_token, "eoi_token");
  const soft = str(m.image_soft_token, "image_soft_token");
  const n = m.tokens_per_image;
  const imageSequence = `\n\n${boi}${soft.repeat(n)}${eoi}\n\n`;
  return {
    family: m.family,
    renderPrompt(req, text) {
      if (req.frames?.length) throw new Error(`${bundle.name} (family ${m.family}) takes images, not frames`);
      if (bundle.preprocessor.do_pan_and_scan)
        throw new Error(`${bundle.name}: pan-and-scan is on in preprocessor_config.json; linmech supports Gemma-3 with it off (the default): set do_pan_and_scan to false`);
      const prompt = renderWithPlaceholders(req, text, "image", asList(req.image).length, boi);
      return prompt.split(boi).join(imageSequence);
    },
    async preprocess(req): Promise<VisualItems> {
      const pixels = await Promise.all(asList(req.image).map((im) => preprocessImage(im, bundle.preprocessor, m.image_size)));
      return { pixels };
    },
    expand(ids, visual): ExpandedPrompt {
      const spans: VisualSpan[] = [];
      for (let t = 0; t < ids.length; t++) {
        if (ids[t] !== m.image_token_id) continue;
        const start = t;
        while (t < ids.length && ids[t] === m.image_token_id) t++;
        if (t - start !== n)
          throw new Error(`prompt has a run of ${t - start} ${soft} tokens at position ${start}; each image takes exactly ${n} (write ${boi} where an image goes, not the soft tokens)`);
        spans.push({ kind: "image", start, length: n, item: spans.length });
      }
      if (spans.length !== visual.pixels.length)
        throw new Error(`prompt has ${spans.length} ${boi} placeholder(s) but ${visual.pixels.length} image(s) were given`);
      return { ids, spans };
    },
    positionIds(expanded): PositionIds {
      const T = expanded.ids.length;
      const data = new BigInt64Array(2 * T);
      for (let t = 0; t < T; t++) (data[t] = BigInt(t)), (data[T + t] = -1n);
      for (const s of expanded.spans) for (let k = 0; k < s.length; k++) data[T + s.start + k] = BigInt(s.item);
      return { rows: 2, data };
    },
  };
}
