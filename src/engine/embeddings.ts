// Decoder input embeddings of a prepared input: token embeddings (embed_tokens.onnx) with the vision encoder's
// features written at the placeholder positions. Vision features are cached per image content, embeddings per
// prepared input.
import { createHash } from "node:crypto";
import * as ort from "onnxruntime-node";
import type { BundleMeta } from "./bundle";
import type { PreparedInput } from "./prepared";
import type { PixelValues } from "./image";

export class EmbeddingCache {
  private readonly vision = new Map<string, Float32Array>();
  private readonly perInput = new WeakMap<PreparedInput, Float32Array>();
  constructor(
    private readonly visionSession: ort.InferenceSession,
    private readonly embedSession: ort.InferenceSession,
    private readonly meta: BundleMeta,
    private readonly maxImages = 512,
  ) {}

  private static keyOf(p: PixelValues, extra?: Record<string, ort.Tensor>): string {
    const h = createHash("sha1").update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
    for (const [name, t] of Object.entries(extra ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const v = t.data as ArrayBufferView;
      h.update(`${name}:${t.dims.join("x")}:`).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    return h.digest("hex") + `:${(p.dims ?? [p.width, p.height]).join("x")}`;
  }

  /** Features of one image / frame, [tokens, d] (cached by pixel content and extra inputs). */
  async features(p: PixelValues, extra?: Record<string, ort.Tensor>): Promise<Float32Array> {
    const key = EmbeddingCache.keyOf(p, extra);
    const hit = this.vision.get(key);
    if (hit) {
      this.vision.delete(key);
      this.vision.set(key, hit);
      return hit;
    }
    const out = await this.visionSession.run({ pixel_values: new ort.Tensor("float32", p.data, p.dims ?? [1, 3, p.height, p.width]), ...(extra ?? {}) });
    const f = out[this.visionSession.outputNames[0]].data as Float32Array;
    this.vision.set(key, f);
    if (this.vision.size > this.maxImages) this.vision.delete(this.vision.keys().next().value as string);
    return f;
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
    for (const span of input.spans) {
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
  }
}
