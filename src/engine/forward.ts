// One decoder session call for a batch of rows: feeds (embeddings, mask, positions, past KV, site indices and
// values) in, only the requested outputs (gathered logits rows, traced vectors, present KV) out.
import * as ort from "onnxruntime-node";
import { BundleMeta, kvLayers } from "./bundle";
import { LOGITS_AT, LOGITS_INDEX, SITE_INPUTS, traceOutputName } from "./instrument";

/** Past keys and values of one layer with a KV cache, [B, kv_heads, past, head_dim]. */
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
  /** one entry per layer with a KV cache (kvLayers(meta), in order; every layer unless linmech.json says) */
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
  /** as DecoderCall.past: one entry per layer of kvLayers(meta) */
  present?: LayerKV[];
}

const EMPTY = {
  i64: new BigInt64Array(0),
  f32: new Float32Array(0),
  u8: new Uint8Array(0),
};

/**
 * Packs the per-layer patches and reads into the instrumented graph's shared inputs (layers 0..L-1 in order;
 * site.counts gives each layer's number of rows in the replace, add and trace lists).
 */
function packSites(c: DecoderCall, L: number, d: number): Record<string, ort.Tensor> {
  let nr = 0, na = 0, nt = 0;
  for (let i = 0; i < L; i++) {
    const p = c.patches?.get(i);
    if (p) for (let k = 0; k < p.mode.length; k++) p.mode[k] ? nr++ : na++;
    nt += (c.traces?.get(i)?.length ?? 0) / 2;
  }
  const rIdx = new BigInt64Array(2 * nr), rVal = new Float32Array(nr * d);
  const aIdx = new BigInt64Array(2 * na), aVal = new Float32Array(na * d);
  const tIdx = new BigInt64Array(2 * nt);
  const counts = new BigInt64Array(3 * L);
  let r = 0, a = 0, t = 0;
  for (let i = 0; i < L; i++) {
    const r0 = r, a0 = a, t0 = t;
    const p = c.patches?.get(i);
    if (p)
      for (let k = 0; k < p.mode.length; k++) {
        const [idx, val, j] = p.mode[k] ? [rIdx, rVal, r++] : [aIdx, aVal, a++];
        idx[2 * j] = p.index[2 * k];
        idx[2 * j + 1] = p.index[2 * k + 1];
        val.set(p.value.subarray(k * d, (k + 1) * d), j * d);
      }
    const tr = c.traces?.get(i);
    if (tr) (tIdx.set(tr, 2 * t), (t += tr.length / 2));
    counts[i] = BigInt(r - r0);
    counts[L + i] = BigInt(a - a0);
    counts[2 * L + i] = BigInt(t - t0);
  }
  const I = SITE_INPUTS;
  return {
    [I.replaceIndex]: new ort.Tensor("int64", rIdx, [nr, 2]),
    [I.replaceValue]: new ort.Tensor("float32", rVal, [nr, d]),
    [I.addIndex]: new ort.Tensor("int64", aIdx, [na, 2]),
    [I.addValue]: new ort.Tensor("float32", aVal, [na, d]),
    [I.traceIndex]: new ort.Tensor("int64", tIdx, [nt, 2]),
    [I.counts]: new ort.Tensor("int64", counts, [counts.length]),
  };
}

export async function runDecoder(session: ort.InferenceSession, instrumented: boolean, m: BundleMeta, c: DecoderCall): Promise<DecoderResult> {
  const { batch: B, seqLen: S, pastLen: P } = c;
  const d = m.hidden_size, L = m.num_layers;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor("float32", c.embeds, [B, S, d]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(B * (P + S)).fill(1n), [B, P + S]),
    position_ids: new ort.Tensor("int64", c.positions.data, c.positions.rows === 1 ? [B, S] : [c.positions.rows, B, S]),
  };
  const kvl = kvLayers(m);
  for (let k = 0; k < kvl.length; k++) {
    const kv = c.past?.[k], i = kvl[k];
    feeds[`past_key_values.${i}.key`] = kv?.key ?? new ort.Tensor("float32", EMPTY.f32, [B, m.num_key_value_heads, 0, m.head_dim]);
    feeds[`past_key_values.${i}.value`] = kv?.value ?? new ort.Tensor("float32", EMPTY.f32, [B, m.num_key_value_heads, 0, m.head_dim]);
  }
  if (c.extra) Object.assign(feeds, c.extra);
  const fetches: string[] = [];
  if (instrumented) {
    Object.assign(feeds, packSites(c, L, d));
    for (let i = 0; i < L; i++) if (c.traces?.get(i)?.length) fetches.push(traceOutputName(i));
    feeds[LOGITS_INDEX] = new ort.Tensor("int64", c.logitsIndex, [c.logitsIndex.length / 2, 2]);
    fetches.push(LOGITS_AT);
  } else {
    if ((c.patches && c.patches.size) || (c.traces && c.traces.size))
      throw new Error("this model was loaded with instrumented: false; trace and patch need the instrumented decoder");
    fetches.push("logits");
  }
  if (c.wantPresent) for (const i of kvl) fetches.push(`present.${i}.key`, `present.${i}.value`);
  const out = await session.run(feeds, fetches);
  const traces = new Map<number, Float32Array>();
  if (instrumented) for (const [i] of c.traces ?? []) {
    const t = out[traceOutputName(i)];
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
    ? kvl.map((i) => ({ key: out[`present.${i}.key`], value: out[`present.${i}.value`] }))
    : undefined;
  return { traces, logits, present };
}
