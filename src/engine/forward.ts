// One decoder session call for a batch of rows: feeds (embeddings, mask, positions, past KV, site indices and
// values) in, only the requested outputs (gathered logits rows, traced vectors, present KV) out.
import * as ort from "onnxruntime-node";
import type { BundleMeta } from "./bundle";
import { LOGITS_AT, LOGITS_INDEX, siteInputNames } from "./instrument";

/** Past keys and values of one layer, [B, kv_heads, past, head_dim]. */
export interface LayerKV {
  key: ort.Tensor;
  value: ort.Tensor;
}

export interface SitePatch {
  /** (batch row, position) pairs, flattened */
  index: BigInt64Array;
  /** one vector per pair */
  value: Float32Array;
  /** 1 = replace, 0 = add, per pair */
  mode: Uint8Array;
}

export interface DecoderCall {
  batch: number;
  seqLen: number;
  pastLen: number;
  /** [B, S, d] */
  embeds: Float32Array;
  /** position rows × B × S (rows = 1 → fed as [B,S]; rows > 1 → [rows,B,S]) */
  positions: { rows: number; data: BigInt64Array };
  past?: LayerKV[];
  patches?: Map<number, SitePatch>;
  traces?: Map<number, BigInt64Array>;
  /** (batch row, position) pairs whose logits come back */
  logitsIndex: BigInt64Array;
  wantPresent: boolean;
  extra?: Record<string, ort.Tensor>;
}

export interface DecoderResult {
  traces: Map<number, Float32Array>;
  /** [K, vocab] for the K pairs of logitsIndex */
  logits: Float32Array;
  present?: LayerKV[];
}

const EMPTY = {
  i64: new BigInt64Array(0),
  f32: new Float32Array(0),
  u8: new Uint8Array(0),
};

export async function runDecoder(session: ort.InferenceSession, instrumented: boolean, m: BundleMeta, c: DecoderCall): Promise<DecoderResult> {
  const { batch: B, seqLen: S, pastLen: P } = c;
  const d = m.hidden_size, L = m.num_layers;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor("float32", c.embeds, [B, S, d]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(B * (P + S)).fill(1n), [B, P + S]),
    position_ids: new ort.Tensor("int64", c.positions.data, c.positions.rows === 1 ? [B, S] : [c.positions.rows, B, S]),
  };
  for (let i = 0; i < L; i++) {
    const kv = c.past?.[i];
    feeds[`past_key_values.${i}.key`] = kv?.key ?? new ort.Tensor("float32", EMPTY.f32, [B, m.num_key_value_heads, 0, m.head_dim]);
    feeds[`past_key_values.${i}.value`] = kv?.value ?? new ort.Tensor("float32", EMPTY.f32, [B, m.num_key_value_heads, 0, m.head_dim]);
  }
  if (c.extra) Object.assign(feeds, c.extra);
  const fetches: string[] = [];
  if (instrumented) {
    for (let i = 0; i < L; i++) {
      const n = siteInputNames(i);
      const p = c.patches?.get(i);
      const k = p ? p.mode.length : 0;
      feeds[n.patchIndex] = new ort.Tensor("int64", p?.index ?? EMPTY.i64, [k, 2]);
      feeds[n.patchValue] = new ort.Tensor("float32", p?.value ?? EMPTY.f32, [k, d]);
      feeds[n.patchMode] = new ort.Tensor("bool", p?.mode ?? EMPTY.u8, [k, 1]);
      const t = c.traces?.get(i);
      feeds[n.traceIndex] = new ort.Tensor("int64", t ?? EMPTY.i64, [t ? t.length / 2 : 0, 2]);
      if (t && t.length) fetches.push(n.traceOutput);
    }
    feeds[LOGITS_INDEX] = new ort.Tensor("int64", c.logitsIndex, [c.logitsIndex.length / 2, 2]);
    fetches.push(LOGITS_AT);
  } else {
    if ((c.patches && c.patches.size) || (c.traces && c.traces.size))
      throw new Error("this model was loaded with instrumented: false; trace and patch need the instrumented decoder");
    fetches.push("logits");
  }
  if (c.wantPresent) for (let i = 0; i < L; i++) fetches.push(`present.${i}.key`, `present.${i}.value`);
  const out = await session.run(feeds, fetches);
  const traces = new Map<number, Float32Array>();
  if (instrumented) for (const [i] of c.traces ?? []) {
    const t = out[siteInputNames(i).traceOutput];
    if (t) traces.set(i, t.data as Float32Array);
  }
  let logits: Float32Array;
  if (instrumented) logits = out[LOGITS_AT].data as Float32Array;
  else {
    const all = out.logits.data as Float32Array;
    const V = all.length / (B * S);
    const K = c.logitsIndex.length / 2;
    logits = new Float32Array(K * V);
    for (let k = 0; k < K; k++) {
      const b = Number(c.logitsIndex[2 * k]), s = Number(c.logitsIndex[2 * k + 1]);
      logits.set(all.subarray((b * S + s) * V, (b * S + s + 1) * V), k * V);
    }
  }
  const present = c.wantPresent
    ? Array.from({ length: L }, (_, i) => ({ key: out[`present.${i}.key`], value: out[`present.${i}.value`] }))
    : undefined;
  return { traces, logits, present };
}
