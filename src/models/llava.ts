// LLaVA family (LLaVA-1.5 and the toy-llava bundles): one `<image>` placeholder per image, expanded to
// tokens_per_image positions; plain 1-row positions 0..T-1.
import type { Bundle } from "../engine/bundle";
import { ImageSource, loadRgb, PixelValues, preprocessImage, RgbImage } from "../engine/image";
import type { TextCodec } from "../engine/text";
import type { ExpandedPrompt, ModelAdapter, PositionIds, PrepareRequest, VisualItems, VisualSpan } from "./adapter";

export function asList(image: ImageSource | ImageSource[] | undefined): ImageSource[] {
  if (image === undefined) return [];
  return Array.isArray(image) ? image : [image];
}

/** Chat prompt with media parts first (the paper's layout), or the verbatim prompt checked for placeholders. */
export function renderWithPlaceholders(
  req: PrepareRequest, text: TextCodec, part: "image" | "video", count: number, placeholder: string,
): string {
  const chat = req.chat ?? text.hasChatTemplate;
  if (chat) {
    const parts = part === "image"
      ? Array.from({ length: count }, () => ({ type: "image" as const }))
      : count > 0 ? [{ type: "video" as const }] : [];
    return text.applyChatTemplate([{ role: "user", content: [...parts, { type: "text", text: req.prompt }] }]);
  }
  const found = req.prompt.split(placeholder).length - 1;
  const want = part === "image" ? count : count > 0 ? 1 : 0;
  if (found !== want)
    throw new Error(
      `raw prompt (chat: false) has ${found} "${placeholder}" placeholder(s) but ${want} ${part === "image" ? "image(s)" : "video(s)"} ` +
        `were given; write the placeholder where the ${part} goes, e.g. "${placeholder}\\nQUESTION: ..."`,
    );
  return req.prompt;
}

/** renderPrompt of the image-only families (InternVL, Qwen2-VL): frames are refused, images become chat parts. */
export function renderImagePrompt(bundle: Bundle, req: PrepareRequest, text: TextCodec): string {
  const m = bundle.meta;
  if (req.frames?.length) throw new Error(`${bundle.name} (family ${m.family}): video input is not supported yet; pass images`);
  return renderWithPlaceholders(req, text, "image", asList(req.image).length, m.image_token);
}

/** preprocess of the families with one visual item per image (InternVL, Qwen2-VL): `item` of each image, as RGB. */
export async function eachImage(req: PrepareRequest, item: (rgb: RgbImage) => Promise<PixelValues>): Promise<VisualItems> {
  return { pixels: await Promise.all(asList(req.image).map(async (src) => item(await loadRgb(src)))) };
}

export function sequentialPositions(n: number): PositionIds {
  const data = new BigInt64Array(n);
  for (let i = 0; i < n; i++) data[i] = BigInt(i);
  return { rows: 1, data };
}

/** Replaces every `tokenId` by `perItem` copies (or `perItem(k)` for item k), item k for the k-th occurrence;
 * with `wrap`, each item's copies stand between the token ids wrap[0] and wrap[1] (outside its span). */
export function expandPlaceholder(
  ids: number[], tokenId: number, perItem: number | ((item: number) => number), items: number, kind: VisualSpan["kind"],
  name: string, wrap?: [number, number],
): ExpandedPrompt {
  const found = ids.filter((x) => x === tokenId).length;
  if (found !== items)
    throw new Error(`prompt has ${found} ${name} placeholder token(s) but ${items} ${kind}(s) were given`);
  const out: number[] = [];
  const spans: VisualSpan[] = [];
  let item = 0;
  for (const id of ids) {
    if (id === tokenId) {
      const n = typeof perItem === "number" ? perItem : perItem(item);
      if (wrap) out.push(wrap[0]);
      spans.push({ kind, start: out.length, length: n, item: item++ });
      for (let k = 0; k < n; k++) out.push(id);
      if (wrap) out.push(wrap[1]);
    } else out.push(id);
  }
  return { ids: out, spans };
}

export function llavaAdapter(bundle: Bundle): ModelAdapter {
  const m = bundle.meta;
  return {
    family: "llava",
    renderPrompt(req, text) {
      if (req.frames?.length) throw new Error(`${bundle.name} (family llava) takes images, not frames; use a llava-video bundle`);
      return renderWithPlaceholders(req, text, "image", asList(req.image).length, m.image_token);
    },
    async preprocess(req): Promise<VisualItems> {
      const images = asList(req.image);
      const pixels = await Promise.all(images.map((im) => preprocessImage(im, bundle.preprocessor, m.image_size)));
      return { pixels };
    },
    expand(ids, visual) {
      return expandPlaceholder(ids, m.image_token_id, m.tokens_per_image, visual.pixels.length, "image", m.image_token);
    },
    positionIds(expanded) {
      return sequentialPositions(expanded.ids.length);
    },
  };
}
