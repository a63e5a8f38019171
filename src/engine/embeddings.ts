// Decoder input embeddings of a prepared input: token embeddings (embed_tokens.onnx) with the vision encoder's
// features written at the placeholder positions. Vision features are cached per image content, embeddings per
// prepared input. Cross-attention bundles (linmech.json cross_attention, Llama-3.2-Vision) keep the image out of the
// embeddings: their vision outputs become extra decoder inputs (crossInputs), cached the same way.
import { createHash } from "node:crypto";
import * as ort from "onnxruntime-node";
import type { BundleMeta } from "./bundle";
import type { PreparedInput } from "./prepared";
import type { PixelValues } from "./image";

/** One vision-encoder output of one image: data and its dims. */
export interface VisionOutput {
  data: Float32Array;
  dims: readonly number[];
}

export class EmbeddingCache {
  /** image key → every output of the vision encoder for it */
  private readonly vision = new Map<string, Record<string, VisionOutput>>();
  private visionBytes = 0;
  private readonly perInput = new WeakMap<PreparedInput, Float32Array>();
  /** cross-attention bundles: each input's image cache key, so a sweep hashes its pixels once, not on every call */
  private readonly crossKeys = new WeakMap<PreparedInput, string>();
  constructor(
    private readonly visionSession: ort.InferenceSession,
    private readonly embedSession: ort.InferenceSession,
    private readonly meta: BundleMeta,
    private readonly maxImages = 512,
    /** byte budget of the cached vision outputs (Llama-3.2-11B-Vision: ~420 MB of cross-attention keys/values per image) */
    private readonly maxBytes = 2 * 1024 ** 3,
  ) {}

  private static bytesOf(o: Record<string, VisionOutput>): number {
    return Object.values(o).reduce((s, v) => s + v.data.byteLength, 0);
  }

  private static keyOf(p: PixelValues, extra?: Record<string, ort.Tensor>): string {
    const h = createHash("sha1").update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
    for (const [name, t] of Object.entries(extra ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const v = t.data as ArrayBufferView;
      h.update(`${name}:${t.dims.join("x")}:`).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    return h.digest("hex") + `:${(p.dims ?? [p.width, p.height]).join("x")}`;
  }

  /** Every vision-encoder output of one image / frame (cached by pixel content and extra inputs). */
  async outputs(p: PixelValues, extra?: Record<string, ort.Tensor>, key = EmbeddingCache.keyOf(p, extra)): Promise<Record<string, VisionOutput>> {
    const hit = this.vision.get(key);
    if (hit) {
      this.vision.delete(key);
      this.vision.set(key, hit);
      return hit;
    }
    const out = await this.visionSession.run({ pixel_values: new ort.Tensor("float32", p.data, p.dims ?? [1, 3, p.height, p.width]), ...(extra ?? {}) });
    const all: Record<string, VisionOutput> = {};
    for (const name of this.visionSession.outputNames) {
      const t = out[name];
      if (t.type !== "float32") throw new Error(`vision encoder output ${name} is ${t.type}; linmech expects float32`);
      all[name] = { data: t.data as Float32Array, dims: t.dims };
    }
    this.vision.set(key, all);
    this.visionBytes += EmbeddingCache.bytesOf(all);
    // least recently used first; the newest entry always stays
    while (this.vision.size > 1 && (this.vision.size > this.maxImages || this.visionBytes > this.maxBytes)) {
      const oldest = this.vision.keys().next().value as string;
      this.visionBytes -= EmbeddingCache.bytesOf(this.vision.get(oldest)!);
      this.vision.delete(oldest);
    }
    return all;
  }

  /** Features of one image / frame, [tokens, d]: the vision encoder's first output (cached). */
  async features(p: PixelValues, extra?: Record<string, ort.Tensor>): Promise<Float32Array> {
    return (await this.outputs(p, extra))[this.visionSession.outputNames[0]].data;
  }

  /**
   * Cross-attention bundles: the decoder inputs linmech.json cross_attention.inputs names, for a batch of inputs of
   * one image each — the vision-encoder output of that name for the row's image, [Bc, ...]: Bc = 1 when every row
   * has the same image (the graph broadcasts it over the rows: a sweep over one image feeds it once), else one
   * entry per row. Undefined for other bundles.
   */
  async crossInputs(inputs: PreparedInput[]): Promise<Record<string, ort.Tensor> | undefined> {
    const names: string[] | undefined = this.meta.cross_attention?.inputs;
    if (!names?.length) return undefined;
    const perRow: Record<string, VisionOutput>[] = [];
    for (const input of inputs) {
      const n = input.visual.pixels.length;
      if (n !== 1)
        throw new Error(`${this.meta.family} bundles take their cross-attention inputs from exactly one image per prompt; this input has ${n}`);
      const extra = { ...input.visual.extraInputs, ...input.visual.itemInputs?.[0] };
      let key = this.crossKeys.get(input);
      if (key === undefined) this.crossKeys.set(input, (key = EmbeddingCache.keyOf(input.visual.pixels[0], extra)));
      const o = await this.outputs(input.visual.pixels[0], extra, key);
      for (const name of names)
        if (!o[name]) throw new Error(`vision encoder has no output ${name} (linmech.json cross_attention.inputs); re-export the bundle`);
      perRow.push(o);
    }
    const shared = perRow.every((o) => o === perRow[0]);
    const rows = shared ? [perRow[0]] : perRow;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of names) {
      const { dims, data: first } = rows[0][name];
      if (rows.some((r) => r[name].data.length !== first.length))
        throw new Error(`cross-attention input ${name}: rows of one batch differ in size; run them separately`);
      let data = first;
      if (rows.length > 1) {
        data = new Float32Array(rows.length * first.length);
        rows.forEach((r, b) => data.set(r[name].data, b * first.length));
      }
      feeds[name] = new ort.Tensor("float32", data, [rows.length, ...dims]);
    }
    return feeds;
  }

  /** Token embeddings of ids, [n, d]. */
  async tokens(ids: ArrayLike<number>, batch = 1): Promise<Float32Array> {
    const n = ids.length;
    const data = new BigInt64Array(n);
    for (let i = 0; i < n; i++) data[i] = BigInt(ids[i]);
    const out = await this.embedSession.run({ input_ids: new ort.Tensor("int64", data, [batch, n / batch]) });
    return out[this.embedSession.outputNames[0]].data as Float32Array;
  }

  /** [T, d] decoder input embeddings (hook_embed before edits). */
  async of(input: PreparedInput): Promise<Float32Array> {
    const hit = this.perInput.get(input);
    if (hit) return hit;
    const d = this.meta.hidden_size;
    const emb = new Float32Array(await this.tokens(input.ids));
    // cross-attention bundles: the image reaches the decoder through crossInputs, not the embeddings
    if (!this.meta.cross_attention) for (const span of input.spans) {
      const extra = { ...input.visual.extraInputs, ...input.visual.itemInputs?.[span.item] };
      const f = await this.features(input.visual.pixels[span.item], extra);
      if (f.length !== span.length * d)
        throw new Error(`vision encoder gave ${f.length / d} feature vectors for a span of ${span.length} placeholder tokens`);
      emb.set(f, span.start * d);
    }
    this.perInput.set(input, emb);
    return emb;
  }

  clear(): void {
    this.vision.clear();
    this.visionBytes = 0;
  }
}
