// Runs many rows (input + merged edits + trace requests [+ greedy generation]) through the decoder with the
// speed levers: rows of equal length are batched into one session call per chunk; with prefix reuse, a chunk
// whose edits and reads all sit at positions ≥ p prefills tokens < p once per input (cached across calls) and
// runs only the suffix per row, on top of the cached keys/values.
// Layers without a self-attention KV cache (linmech.json kv_layers; Llama-3.2-Vision's cross-attention layers) have
// no cached keys; cross-attention bundles get their per-image vision inputs (EmbeddingCache.crossInputs: the
// cross-attention keys/values of the image, batch axis 1 when all rows share it) fed on every call — prefill, the
// suffix after a cached prefix and each decode step — so the cache holds self-attention keys only and a prefix stays
// valid (cross-attention mixes no text positions).
import * as ort from "onnxruntime-node";
import { BundleMeta, kvLayers } from "./bundle";
import type { EmbeddingCache } from "./embeddings";
import type { MergedEdits } from "./edits";
import { DecoderCall, LayerKV, runDecoder, SitePatch } from "./forward";
import type { PreparedInput } from "./prepared";

export interface RowSpec {
  input: PreparedInput;
  edits: MergedEdits;
  /** layer (-1 = hook_embed) → positions to read, in order */
  traces: Map<number, number[]>;
  /** greedy tokens to generate after the prompt (0 = none) */
  generate: number;
}

export interface RowResult {
  /** layer → [K, d] vectors at the requested positions (post-edit values) */
  traces: Map<number, Float32Array>;
  /** logits at the last prompt position */
  lastLogits: Float32Array;
  /** generated token ids (greedy; stops before EOS) */
  generated?: number[];
  stoppedAtEos?: boolean;
}

export interface ExecOptions {
  /** rows per session call (default 8) */
  batchSize?: number;
  /** prefill the unedited prefix once and run only the suffix (default true) */
  prefixReuse?: boolean;
  onProgress?: (done: number, total: number) => void;
}

interface PrefixEntry {
  key: Float32Array[];
  value: Float32Array[];
  bytes: number;
}

export class Executor {
  private readonly prefixes = new Map<string, PrefixEntry>();
  private prefixBytes = 0;
  /** decoder layers with a KV cache (past/present entries, in this order) */
  private readonly kvl: readonly number[];
  /** session calls made (for benchmarks and tests) */
  calls = 0;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly instrumented: boolean,
    private readonly meta: BundleMeta,
    private readonly embeddings: EmbeddingCache,
    /** generation stops at any of these ids (tokenizer EOS and generation_config.json's eos_token_id) */
    private readonly stopIds: ReadonlySet<number>,
    /** byte budget of the prefix KV cache */
    private readonly prefixBudget = 512 * 1024 * 1024,
  ) {
    this.kvl = kvLayers(meta);
  }

  clearPrefixCache(): void {
    this.prefixes.clear();
    this.prefixBytes = 0;
  }

  async run(rows: RowSpec[], opts: ExecOptions = {}): Promise<RowResult[]> {
    const batchSize = Math.max(1, opts.batchSize ?? 8);
    const results: RowResult[] = new Array(rows.length);
    // rows of one session call need equal length (and, for cross-attention bundles, equal image counts: their
    // vision states are stacked over the batch)
    const cross = !!this.meta.cross_attention;
    const groups = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const g = cross ? `${r.input.length}:${r.input.visual.pixels.length}` : `${r.input.length}`;
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(i);
    });
    let done = 0;
    for (const idx of groups.values()) {
      for (let s = 0; s < idx.length; s += batchSize) {
        let chunk = idx.slice(s, s + batchSize);
        // adapters with per-input extra decoder inputs (adapter.decoderInputs) run row by row
        if (chunk.some((i) => rows[i].input.decoderInputs)) chunk = chunk.slice(0, 1), s -= batchSize - 1;
        const out = await this.runChunk(chunk.map((i) => rows[i]), opts.prefixReuse ?? true);
        chunk.forEach((i, k) => (results[i] = out[k]));
        done += chunk.length;
        opts.onProgress?.(done, rows.length);
      }
    }
    return results;
  }

  private splitPoint(rows: RowSpec[], T: number): number {
    let p = T - 1;
    for (const r of rows) {
      for (const [layer, m] of r.edits) for (const q of m.keys()) p = Math.min(p, q), void layer;
      for (const [layer, ps] of r.traces) if (layer >= 0) for (const q of ps) p = Math.min(p, q);
    }
    // bundles whose image tokens attend to each other in both directions (linmech.json image_attention =
    // "bidirectional", e.g. Gemma-3): an edit inside an image reaches the image's earlier tokens, so the cached
    // prefix ends before the image
    if (this.meta.image_attention === "bidirectional")
      for (let moved = true; moved; ) {
        moved = false;
        for (const r of rows)
          for (const s of r.input.spans) if (s.start < p && p < s.start + s.length) (p = s.start), (moved = true);
      }
    return Math.max(0, p);
  }

  private async prefix(inputs: PreparedInput[], p: number): Promise<Map<PreparedInput, PrefixEntry>> {
    const out = new Map<PreparedInput, PrefixEntry>();
    const missing: PreparedInput[] = [];
    for (const inp of inputs) {
      const k = `${inp.key}:${p}`;
      const hit = this.prefixes.get(k);
      if (hit) {
        this.prefixes.delete(k);
        this.prefixes.set(k, hit);
        out.set(inp, hit);
      } else if (!missing.includes(inp)) missing.push(inp);
    }
    if (missing.length === 0) return out;
    const m = this.meta, d = m.hidden_size, B = missing.length;
    const embeds = new Float32Array(B * p * d);
    for (let b = 0; b < B; b++) embeds.set((await this.embeddings.of(missing[b])).subarray(0, p * d), b * p * d);
    const res = await this.call({
      batch: B, seqLen: p, pastLen: 0, embeds, positions: this.positions(missing, 0, p),
      logitsIndex: new BigInt64Array(0), wantPresent: true, extra: await this.embeddings.crossInputs(missing),
    });
    const rowSize = m.num_key_value_heads * p * m.head_dim;
    for (let b = 0; b < B; b++) {
      const e: PrefixEntry = { key: [], value: [], bytes: 0 };
      for (const kv of res.present!) {
        e.key.push((kv.key.data as Float32Array).slice(b * rowSize, (b + 1) * rowSize));
        e.value.push((kv.value.data as Float32Array).slice(b * rowSize, (b + 1) * rowSize));
      }
      e.bytes = 2 * this.kvl.length * rowSize * 4;
      out.set(missing[b], e);
      const k = `${missing[b].key}:${p}`;
      if (e.bytes <= this.prefixBudget) {
        this.prefixes.set(k, e);
        this.prefixBytes += e.bytes;
        while (this.prefixBytes > this.prefixBudget) {
          const [oldKey, old] = this.prefixes.entries().next().value as [string, PrefixEntry];
          this.prefixes.delete(oldKey);
          this.prefixBytes -= old.bytes;
        }
      }
    }
    return out;
  }

  /** position ids rows × B × (to − from) for the inputs' positions [from, to) */
  private positions(inputs: PreparedInput[], from: number, to: number): { rows: number; data: BigInt64Array } {
    const rows = inputs[0].positionIds.rows, B = inputs.length, S = to - from;
    const data = new BigInt64Array(rows * B * S);
    for (let r = 0; r < rows; r++)
      for (let b = 0; b < B; b++) {
        const src = inputs[b].positionIds.data, T = inputs[b].length;
        data.set(src.subarray(r * T + from, r * T + to), (r * B + b) * S);
      }
    return { rows, data };
  }

  private call(c: DecoderCall) {
    this.calls++;
    return runDecoder(this.session, this.instrumented, this.meta, c);
  }

  private async runChunk(rows: RowSpec[], prefixReuse: boolean): Promise<RowResult[]> {
    const m = this.meta, d = m.hidden_size, B = rows.length;
    const T = rows[0].input.length;
    const p = prefixReuse ? this.splitPoint(rows, T) : 0;
    const S = T - p;
    const inputs = rows.map((r) => r.input);
    let past: LayerKV[] | undefined;
    if (p > 0) {
      const pre = await this.prefix(inputs, p);
      const rowSize = m.num_key_value_heads * p * m.head_dim;
      const dims = [B, m.num_key_value_heads, p, m.head_dim];
      past = [];
      for (let i = 0; i < this.kvl.length; i++) {
        const key = new Float32Array(B * rowSize), value = new Float32Array(B * rowSize);
        for (let b = 0; b < B; b++) {
          const e = pre.get(inputs[b])!;
          key.set(e.key[i], b * rowSize);
          value.set(e.value[i], b * rowSize);
        }
        past.push({ key: new ort.Tensor("float32", key, dims), value: new ort.Tensor("float32", value, dims) });
      }
    }
    // embeddings of the suffix, hook_embed edits applied
    const embeds = new Float32Array(B * S * d);
    const embedRows: Float32Array[] = [];
    for (let b = 0; b < B; b++) {
      const base = await this.embeddings.of(inputs[b]);
      const edits = rows[b].edits.get(-1);
      let row = base;
      if (edits && edits.size) {
        row = base.slice();
        for (const [q, e] of edits) {
          const o = q * d;
          for (let j = 0; j < d; j++) row[o + j] = e.replace ? e.value[j] : Math.fround(row[o + j] + e.value[j]);
        }
      }
      embedRows.push(row);
      embeds.set(row.subarray(p * d, T * d), b * S * d);
    }
    // sparse patches and reads of the decoder sites
    const patches = new Map<number, SitePatch>();
    const traces = new Map<number, BigInt64Array>();
    for (let i = 0; i < m.num_layers; i++) {
      let n = 0;
      for (const r of rows) n += r.edits.get(i)?.size ?? 0;
      if (n > 0) {
        const index = new BigInt64Array(2 * n), value = new Float32Array(n * d), mode = new Uint8Array(n);
        let k = 0;
        rows.forEach((r, b) => {
          for (const [q, e] of r.edits.get(i) ?? []) {
            index[2 * k] = BigInt(b);
            index[2 * k + 1] = BigInt(q - p);
            value.set(e.value, k * d);
            mode[k] = e.replace ? 1 : 0;
            k++;
          }
        });
        patches.set(i, { index, value, mode });
      }
      let t = 0;
      for (const r of rows) t += r.traces.get(i)?.length ?? 0;
      if (t > 0) {
        const index = new BigInt64Array(2 * t);
        let k = 0;
        rows.forEach((r, b) => {
          for (const q of r.traces.get(i) ?? []) {
            index[2 * k] = BigInt(b);
            index[2 * k + 1] = BigInt(q - p);
            k++;
          }
        });
        traces.set(i, index);
      }
    }
    const logitsIndex = new BigInt64Array(2 * B);
    for (let b = 0; b < B; b++) (logitsIndex[2 * b] = BigInt(b)), (logitsIndex[2 * b + 1] = BigInt(S - 1));
    const gen = Math.max(0, ...rows.map((r) => r.generate));
    const extra = { ...inputs[0].decoderInputs, ...(await this.embeddings.crossInputs(inputs)) };
    const res = await this.call({
      batch: B, seqLen: S, pastLen: p, embeds, positions: this.positions(inputs, p, T), past, patches, traces,
      logitsIndex, wantPresent: gen > 0, extra,
    });
    const V = res.logits.length / B;
    const out: RowResult[] = rows.map((r, b) => ({ traces: new Map(), lastLogits: res.logits.slice(b * V, (b + 1) * V) }));
    // split traced vectors by row
    for (const [i, data] of res.traces) {
      let k = 0;
      rows.forEach((r, b) => {
        const n = r.traces.get(i)?.length ?? 0;
        out[b].traces.set(i, data.slice(k * d, (k + n) * d));
        k += n;
      });
    }
    rows.forEach((r, b) => {
      const ps = r.traces.get(-1);
      if (!ps) return;
      const v = new Float32Array(ps.length * d);
      ps.forEach((q, k) => v.set(embedRows[b].subarray(q * d, (q + 1) * d), k * d));
      out[b].traces.set(-1, v);
    });
    if (gen > 0) await this.generate(rows, out, res.present!, T, gen, extra);
    return out;
  }

  private async generate(
    rows: RowSpec[], out: RowResult[], present: LayerKV[], T: number, n: number, extra: Record<string, ort.Tensor>,
  ): Promise<void> {
    const B = rows.length, V = out[0].lastLogits.length;
    const argmax = (a: Float32Array, o: number) => {
      let best = 0;
      for (let j = 1; j < V; j++) if (a[o + j] > a[o + best]) best = j;
      return best;
    };
    const done = new Array<boolean>(B).fill(false);
    let next = out.map((r) => argmax(r.lastLogits, 0));
    out.forEach((r) => (r.generated = []));
    const maxPos = rows.map((r) => {
      let mx = 0n;
      for (const x of r.input.positionIds.data) if (x > mx) mx = x;
      return mx;
    });
    const posRows = rows[0].input.positionIds.rows;
    for (let step = 0; ; step++) {
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        if (step >= Math.min(n, rows[b].generate)) done[b] = true;
        else if (this.stopIds.has(next[b])) (done[b] = true), (out[b].stoppedAtEos = true);
        else out[b].generated!.push(next[b]);
      }
      if (done.every(Boolean) || step + 1 >= n) break;
      const embeds = await this.embeddings.tokens(next, B);
      const positions = new BigInt64Array(posRows * B);
      for (let r = 0; r < posRows; r++) for (let b = 0; b < B; b++) positions[r * B + b] = maxPos[b] + BigInt(step + 1);
      const logitsIndex = new BigInt64Array(2 * B);
      for (let b = 0; b < B; b++) logitsIndex[2 * b] = BigInt(b);
      const res = await this.call({
        batch: B, seqLen: 1, pastLen: T + step, embeds, positions: { rows: posRows, data: positions }, past: present,
        logitsIndex, wantPresent: true, extra,
      });
      present = res.present!;
      next = rows.map((_, b) => argmax(res.logits, b * V));
    }
  }
}
