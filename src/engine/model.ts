// Model: a loaded bundle with its instrumented decoder. prepare() builds inputs; trace() reads sites; patch()
// edits sites and reads answer log-probs or a greedy answer; patchMany()/patchBatch() run sweeps batched.
import type { ModelAdapter, PrepareRequest } from "../models/adapter";
import { adapterFor } from "../models/registry";
import { Bundle, BundleMeta, readBundle } from "./bundle";
import { Edit, mergeEdits } from "./edits";
import { EmbeddingCache } from "./embeddings";
import { ExecOptions, Executor, RowResult, RowSpec } from "./executor";
import { PreparedInput } from "./prepared";
import { Activations, RunResult, logSoftmax } from "./results";
import { BundleSessions, closeSessions, openSessions, SessionOptions } from "./sessions";
import { allSites, resid, SiteName, siteLayer } from "./sites";
import { TextCodec } from "./text";

/** A site to read: all positions (just the name) or chosen positions. */
export type TraceRequest = SiteName | { site: SiteName; positions?: number | number[] };

/**
 * An answer to score: a word (its first sub-token of " " + word, e.g. "left" → "▁left" for SentencePiece, "Ġleft"
 * for byte-level BPE) or a token id.
 */
export type Answer = string | number;

export interface RunOptions {
  /** next-token log-probs at the last prompt position for these answers */
  logprobs?: Answer[];
  /** greedy answer of this many tokens, edits applied on the prompt and carried by the KV cache */
  generate?: number;
  /** sites to read in the same run (post-edit values) */
  trace?: TraceRequest[];
  /**
   * prefill the unedited prefix once (KV cache, shared across calls) and run only the suffix from the first
   * edited/read position (default true). Equal to full recomputation within float rounding (~1e-6); pass false
   * for bit-exact comparisons between runs that would split at different positions.
   */
  prefixReuse?: boolean;
}

export interface SweepOptions extends RunOptions, ExecOptions {}

export interface TraceOptions {
  edits?: Edit[];
  logprobs?: Answer[];
  prefixReuse?: boolean;
}

export interface BatchItem {
  input: PreparedInput;
  edits?: Edit[];
}

export interface LoadOptions extends SessionOptions {
  /**
   * memory budget of the prefix key/value cache in MiB (default 512; least recently used prefixes go first). A
   * prefix larger than the budget is recomputed per chunk instead of cached (LLaVA-1.5-7B: ~0.6 GB per image).
   */
  prefixCacheMB?: number;
}

export class Model {
  /** next-token log-probs and generation only; no trace/patch when loaded with instrumented: false */
  readonly instrumented: boolean;
  private readonly executor: Executor;
  private readonly embeddings: EmbeddingCache;

  constructor(
    readonly bundle: Bundle,
    private readonly adapter: ModelAdapter,
    readonly text: TextCodec,
    private readonly sessions: BundleSessions,
    prefixCacheMB = 512,
  ) {
    this.instrumented = sessions.instrumented;
    this.embeddings = new EmbeddingCache(sessions.vision, sessions.embed, bundle.meta);
    // stop tokens: the tokenizer's EOS and generation_config.json's eos_token_id (chat models end their turn with
    // another token, e.g. Gemma-3-it's <end_of_turn>, Qwen's <|im_end|>), as transformers' generate does
    const stop = new Set<number>();
    if (text.eosTokenId !== undefined) stop.add(text.eosTokenId);
    const genEos = bundle.generationConfig?.eos_token_id;
    for (const id of Array.isArray(genEos) ? genEos : genEos === undefined ? [] : [genEos]) if (Number.isInteger(id)) stop.add(id);
    this.executor = new Executor(sessions.decoder, sessions.instrumented, bundle.meta, this.embeddings, stop, prefixCacheMB * 1024 * 1024);
  }

  get name(): string {
    return this.bundle.name;
  }
  get meta(): BundleMeta {
    return this.bundle.meta;
  }
  get numLayers(): number {
    return this.bundle.meta.num_layers;
  }
  /** width of the residual stream */
  get width(): number {
    return this.bundle.meta.hidden_size;
  }
  /** every site name: hook_embed, blocks.0.hook_resid_post, … */
  get sites(): SiteName[] {
    return allSites(this.numLayers);
  }
  /** number of decoder session calls so far */
  get sessionCalls(): number {
    return this.executor.calls;
  }

  /** Chat template, tokenization, image preprocessing and placeholder expansion. */
  async prepare(req: PrepareRequest): Promise<PreparedInput> {
    if (!req || typeof req.prompt !== "string") throw new Error("prepare: pass { prompt: string, image?, frames?, chat? }");
    const text = this.adapter.renderPrompt(req, this.text);
    const visual = await this.adapter.preprocess(req);
    const expanded = this.adapter.expand(this.text.encode(text), visual);
    return new PreparedInput({
      prompt: req.prompt,
      text,
      ids: expanded.ids,
      tokens: expanded.ids.map((id) => this.text.idToToken(id)),
      spans: expanded.spans,
      visual,
      positions: this.adapter.positionIds(expanded),
      decoderInputs: this.adapter.decoderInputs?.(expanded),
      wordTokens: (w) => this.text.wordTokens(w).tokens,
    });
  }

  /** Token id scored for an answer word: the first sub-token of " " + word. */
  answerToken(answer: Answer): number {
    if (typeof answer === "number") {
      if (!Number.isInteger(answer) || answer < 0 || answer >= this.meta.vocab_size)
        throw new Error(`answer token id ${answer} is outside the vocabulary (0..${this.meta.vocab_size - 1})`);
      return answer;
    }
    const { ids, tokens } = this.text.wordTokens(answer);
    if (ids.length === 0) throw new Error(`answer "${answer}" tokenizes to nothing`);
    const unk = this.text.tokenToId("<unk>");
    if (unk !== undefined && ids[0] === unk) throw new Error(`answer "${answer}" is not in the vocabulary (tokenizes to ${tokens[0]})`);
    return ids[0];
  }

  /** Reads the requested sites (and the last-position logits) on a clean run (or with `edits`). */
  async trace(input: PreparedInput, sites: TraceRequest | TraceRequest[], opts: TraceOptions = {}): Promise<RunResult> {
    const list = Array.isArray(sites) ? sites : [sites];
    const o = { trace: list, logprobs: opts.logprobs, prefixReuse: opts.prefixReuse };
    return (await this.runRows([this.row(input, opts.edits ?? [], o)], o))[0];
  }

  /** Applies edits (replace/add at any sites and positions) and reads answer log-probs or a greedy answer. */
  async patch(input: PreparedInput, edits: Edit[], opts: RunOptions = {}): Promise<RunResult> {
    return (await this.runRows([this.row(input, edits, opts)], opts))[0];
  }

  /** Many edit sets on one input: batched session calls, the unedited prefix computed once. */
  async patchMany(input: PreparedInput, editSets: Edit[][], opts: SweepOptions = {}): Promise<RunResult[]> {
    return this.runRows(editSets.map((e) => this.row(input, e, opts)), opts);
  }

  /** Many inputs (each with its own edits): inputs of equal length share session calls. */
  async patchBatch(items: BatchItem[], opts: SweepOptions = {}): Promise<RunResult[]> {
    return this.runRows(items.map((it) => this.row(it.input, it.edits ?? [], opts)), opts);
  }

  /** Frees cached prefix keys/values and vision features (sessions stay). */
  clearCaches(): void {
    this.executor.clearPrefixCache();
    this.embeddings.clear();
  }

  /** Releases the ONNX Runtime sessions of this bundle (shared with other Model objects of the same bundle). */
  async dispose(): Promise<void> {
    this.clearCaches();
    await closeSessions(this.bundle.dir);
  }

  private row(input: PreparedInput, edits: Edit[], opts: RunOptions): RowSpec {
    if (!(input instanceof PreparedInput)) throw new Error("pass an input made by model.prepare(...)");
    if (!Array.isArray(edits)) throw new Error("edits must be an array of replace(...) / add(...) edits");
    const T = input.length;
    const traces = new Map<number, number[]>();
    for (const t of opts.trace ?? []) {
      const site = typeof t === "string" ? t : t.site;
      const layer = siteLayer(site, this.numLayers);
      const raw = typeof t === "string" || t.positions === undefined ? [...input.ids.keys()] : Array.isArray(t.positions) ? t.positions : [t.positions];
      for (const q of raw)
        if (!Number.isInteger(q) || q < 0 || q >= T) throw new Error(`trace at ${site}: position ${q} is outside the input (0..${T - 1})`);
      traces.set(layer, [...(traces.get(layer) ?? []), ...raw]);
    }
    if (opts.generate !== undefined && (!Number.isInteger(opts.generate) || opts.generate < 0))
      throw new Error(`generate must be a whole number of tokens, got ${opts.generate}`);
    return { input, edits: mergeEdits(edits, this.numLayers, this.width, T), traces, generate: opts.generate ?? 0 };
  }

  private async runRows(rows: RowSpec[], opts: SweepOptions): Promise<RunResult[]> {
    const answers = (opts.logprobs ?? []).map((a) => [typeof a === "number" ? `#${a}` : a, this.answerToken(a)] as const);
    const raw: RowResult[] = await this.executor.run(rows, opts);
    return raw.map((r, k) => {
      const acts: Partial<Record<SiteName, Activations>> = {};
      for (const [layer, data] of r.traces) acts[resid(layer)] = new Activations(resid(layer), rows[k].traces.get(layer)!, this.width, data);
      const lp = logSoftmax(r.lastLogits);
      const logprobs: Record<string, number> = {};
      for (const [name, id] of answers) logprobs[name] = lp[id];
      const gen = r.generated && {
        ids: r.generated,
        tokens: r.generated.map((id) => this.text.idToToken(id)),
        text: this.text.decode(r.generated),
        stoppedAtEos: r.stoppedAtEos ?? false,
      };
      return new RunResult(acts, r.lastLogits, lp, logprobs, (id) => this.text.idToToken(id), gen);
    });
  }
}

/**
 * Loads a bundle folder (or a name under data/models, e.g. "toy-llava"): checks its files, instruments the
 * decoder once and opens the sessions (cached per bundle and options).
 */
export async function loadModel(pathOrName: string, options: LoadOptions = {}): Promise<Model> {
  const bundle = readBundle(pathOrName);
  const adapter = adapterFor(bundle);
  const text = new TextCodec(bundle.tokenizerJson, bundle.tokenizerConfig);
  const mb = options.prefixCacheMB ?? 512;
  if (!(Number.isFinite(mb) && mb >= 0)) throw new Error(`prefixCacheMB must be a number of MiB ≥ 0, got ${options.prefixCacheMB}`);
  const sessions = await openSessions(bundle, options);
  return new Model(bundle, adapter, text, sessions, mb);
}
