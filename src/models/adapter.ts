// The contract between the engine and one architecture family. The engine never names a family: everything
// family-specific (prompt layout, image preprocessing, placeholder expansion, position ids, extra decoder inputs)
// goes through this interface. Families with multimodal rotary positions (Qwen2-VL: 3 rows), tiles (InternVL),
// bidirectional image attention or cross-attention (Gemma-3, Mllama: extra decoder inputs) fit it as well.
import type { Tensor } from "onnxruntime-node";
import type { Bundle } from "../engine/bundle";
import type { ImageSource, PixelValues } from "../engine/image";
import type { TextCodec } from "../engine/text";

/** What the user passes to `model.prepare`. */
export interface PrepareRequest {
  /** one image, or several (each gets its own placeholder) */
  image?: ImageSource | ImageSource[];
  /** video frames, in order */
  frames?: ImageSource[];
  /** the question / prompt text */
  prompt: string;
  /**
   * true: wrap in the bundle's chat template (one user turn: media parts then the text, generation prompt added);
   * false: use `prompt` verbatim (it must contain the image/video placeholder, e.g. "<image>\nQUESTION: ...").
   * Default: true when the bundle has a chat template.
   */
  chat?: boolean;
}

/** Visual items of one input after preprocessing: what the vision encoder gets. */
export interface VisualItems {
  /** one entry per encoder call item (an image, a tile, or a frame) */
  pixels: PixelValues[];
  /** extra vision-encoder inputs fed with every item's pixel_values */
  extraInputs?: Record<string, Tensor>;
  /** extra vision-encoder inputs of one item (e.g. Qwen2-VL's grid_thw of that image), by item index */
  itemInputs?: Record<string, Tensor>[];
}

/** A run of placeholder positions in the expanded sequence, filled with vision features of `items`. */
export interface VisualSpan {
  kind: "image" | "frame";
  /** first position in the expanded sequence */
  start: number;
  /** number of positions */
  length: number;
  /** index of the visual item (image or frame) whose features fill the span */
  item: number;
}

export interface ExpandedPrompt {
  /** token ids after placeholder expansion (image tokens included) */
  ids: number[];
  spans: VisualSpan[];
  /** per visual item, its feature grid [rows, columns], for families whose positions depend on it (Qwen2-VL) */
  grids?: [number, number][];
}

/** Position ids of a prepared input: `rows` rows (1 for plain RoPE, 3 for Qwen2-VL's M-RoPE) of T entries. */
export interface PositionIds {
  rows: number;
  data: BigInt64Array;
}

export interface ModelAdapter {
  readonly family: string;
  /** Text with placeholders, from the chat template or verbatim. */
  renderPrompt(req: PrepareRequest, text: TextCodec): string;
  /** Decode + preprocess images/frames; throws a clear error for too many frames or an unreadable image. */
  preprocess(req: PrepareRequest): Promise<VisualItems>;
  /** Expands each placeholder token to the number of feature positions of its visual item. */
  expand(ids: number[], visual: VisualItems): ExpandedPrompt;
  /** Position ids for the expanded sequence (prefill). Decode steps continue at max(position)+1 in every row. */
  positionIds(expanded: ExpandedPrompt): PositionIds;
  /** Extra decoder inputs for this input (cross-attention states, token type ids); none for LLaVA. */
  decoderInputs?(expanded: ExpandedPrompt): Record<string, Tensor>;
}

export type AdapterFactory = (bundle: Bundle) => ModelAdapter;
