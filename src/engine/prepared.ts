// A prepared input: token ids and strings of the expanded sequence (image tokens included), the preprocessed
// pixels, position ids, and helpers that find token positions by tokenizing words (never by fixed offsets).
import type { PixelValues } from "./image";
import type { PositionIds, VisualItems, VisualSpan } from "../models/adapter";
import type { Tensor } from "onnxruntime-node";

let nextId = 1;

export interface PreparedParts {
  prompt: string;
  text: string;
  ids: number[];
  tokens: string[];
  spans: VisualSpan[];
  visual: VisualItems;
  positions: PositionIds;
  decoderInputs?: Record<string, Tensor>;
  wordTokens: (word: string) => string[];
}

export interface OccurrenceOptions {
  /** 0-based occurrence among matches in the sequence, or "last"; default 0 (the first, as the paper does) */
  occurrence?: number | "last";
}

export class PreparedInput {
  /** unique per prepared input (caches key on it) */
  readonly key: number;
  /** the prompt as given */
  readonly prompt: string;
  /** the text after the chat template, before placeholder expansion */
  readonly text: string;
  /** token ids of the expanded sequence */
  readonly ids: number[];
  /** token strings of the expanded sequence */
  readonly tokens: string[];
  /** visual placeholder runs (image or frame features) */
  readonly spans: VisualSpan[];
  /** preprocessed pixels, one entry per image / frame, CHW float32 */
  readonly pixelValues: PixelValues[];
  /** @internal */ readonly visual: VisualItems;
  /** @internal */ readonly positionIds: PositionIds;
  /** @internal */ readonly decoderInputs?: Record<string, Tensor>;
  private readonly wordTokens: (word: string) => string[];

  constructor(p: PreparedParts) {
    this.key = nextId++;
    this.prompt = p.prompt;
    this.text = p.text;
    this.ids = p.ids;
    this.tokens = p.tokens;
    this.spans = p.spans;
    this.visual = p.visual;
    this.pixelValues = p.visual.pixels;
    this.positionIds = p.positions;
    this.decoderInputs = p.decoderInputs;
    this.wordTokens = p.wordTokens;
  }

  /** number of tokens in the expanded sequence */
  get length(): number {
    return this.ids.length;
  }

  /**
   * Positions of the last sub-token of `word` (tokenized as " " + word, the paper's convention), one per
   * occurrence of the word's full sub-token sequence in the expanded sequence.
   */
  positionsOf(word: string): number[] {
    const pieces = this.wordTokens(word);
    const found: number[] = [];
    const n = pieces.length;
    for (let i = 0; i + n <= this.tokens.length; i++) {
      let ok = true;
      for (let k = 0; k < n && ok; k++) ok = this.tokens[i + k] === pieces[k];
      if (ok) found.push(i + n - 1);
    }
    return found;
  }

  /** Position of the last sub-token of `word` (first occurrence by default). Throws listing the tokens if absent. */
  positionOf(word: string, opts: OccurrenceOptions = {}): number {
    const all = this.positionsOf(word);
    const occ = opts.occurrence ?? 0;
    if (all.length === 0)
      throw new Error(
        `word "${word}" (sub-tokens ${JSON.stringify(this.wordTokens(word))}) not found in the prompt tokens ` +
          JSON.stringify(this.textTokens().map((p) => this.tokens[p])),
      );
    const idx = occ === "last" ? all.length - 1 : occ;
    if (!Number.isInteger(idx) || idx < 0 || idx >= all.length)
      throw new Error(`word "${word}" occurs ${all.length} time(s) in the prompt; occurrence ${occ} does not exist`);
    return all[idx];
  }

  /**
   * Positions of every sub-token of `word` at one occurrence (first by default): the pieces of " " + word, ending at
   * positionOf(word). Throws as positionOf does.
   */
  spanOf(word: string, opts: OccurrenceOptions = {}): number[] {
    const last = this.positionOf(word, opts);
    const n = this.wordTokens(word).length;
    return Array.from({ length: n }, (_, k) => last - n + 1 + k);
  }

  /** All positions filled with image / frame features. */
  imageTokens(): number[] {
    const out: number[] = [];
    for (const s of this.spans) for (let k = 0; k < s.length; k++) out.push(s.start + k);
    return out;
  }

  /** All positions that are not image / frame features (template, question, generation prompt). */
  textTokens(): number[] {
    const img = new Set(this.imageTokens());
    return this.ids.map((_, i) => i).filter((i) => !img.has(i));
  }

  /** The last position (where next-token log-probs are read). */
  lastToken(): number {
    return this.ids.length - 1;
  }
}
