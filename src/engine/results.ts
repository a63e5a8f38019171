// Typed results of trace/patch runs: activations at the requested sites × positions, last-position logits and
// log-probs, answer-word log-probs, generated tokens; resultsTable() turns a sweep into an arquero table.
import { table, type ColumnTable } from "arquero";
import type { SiteName } from "./sites";

/** Vectors read at one site, one row per requested position (in request order). */
export class Activations {
  constructor(
    readonly site: SiteName,
    readonly positions: number[],
    readonly width: number,
    /** [positions.length, width], row-major */
    readonly data: Float32Array,
  ) {}

  /** the vector at sequence position `position` (must have been requested) */
  get(position: number): Float32Array {
    const k = this.positions.indexOf(position);
    if (k < 0) throw new Error(`position ${position} was not traced at ${this.site}; traced: ${JSON.stringify(this.positions)}`);
    return this.row(k);
  }

  /** the k-th requested row */
  row(k: number): Float32Array {
    return this.data.subarray(k * this.width, (k + 1) * this.width);
  }

  rows(): Float32Array[] {
    return this.positions.map((_, k) => this.row(k));
  }

  toArray(): number[][] {
    return this.rows().map((r) => Array.from(r));
  }
}

export interface Generation {
  ids: number[];
  tokens: string[];
  text: string;
  stoppedAtEos: boolean;
}

export interface TopToken {
  id: number;
  token: string;
  logprob: number;
}

export class RunResult {
  constructor(
    /** site → activations (only the sites that were requested) */
    readonly activations: Partial<Record<SiteName, Activations>>,
    /** logits at the last prompt position */
    readonly lastLogits: Float32Array,
    /** log-softmax of lastLogits */
    readonly lastLogprobs: Float32Array,
    /** next-token log-probs of the requested answers (key = the word as given, or "#id") */
    readonly logprobs: Record<string, number>,
    private readonly idToToken: (id: number) => string,
    readonly generated?: Generation,
  ) {}

  /** activations at a site; throws naming the traced sites when it was not requested */
  get(site: SiteName): Activations {
    const a = this.activations[site];
    if (!a) throw new Error(`site ${site} was not traced; traced: ${Object.keys(this.activations).join(", ") || "none"}`);
    return a;
  }

  /** greedy next token at the last position */
  get argmax(): number {
    let best = 0;
    for (let j = 1; j < this.lastLogits.length; j++) if (this.lastLogits[j] > this.lastLogits[best]) best = j;
    return best;
  }

  /** the k most likely next tokens */
  top(k = 5): TopToken[] {
    const ids = Array.from(this.lastLogprobs.keys()).sort((a, b) => this.lastLogprobs[b] - this.lastLogprobs[a]).slice(0, k);
    return ids.map((id) => ({ id, token: this.idToToken(id), logprob: this.lastLogprobs[id] }));
  }
}

/** log-softmax in float64 accumulation, returned as float32 */
export function logSoftmax(logits: Float32Array): Float32Array {
  let mx = -Infinity;
  for (const x of logits) if (x > mx) mx = x;
  let s = 0;
  for (const x of logits) s += Math.exp(x - mx);
  const lse = mx + Math.log(s);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/**
 * One row per run: `run` (index), optional `label`, `argmax` token, one `lp_<answer>` column per answer word, and
 * `generated` text when generation was asked for.
 */
export function resultsTable(results: RunResult[], labels?: string[]): ColumnTable {
  const cols: Record<string, unknown[]> = { run: results.map((_, i) => i) };
  if (labels) cols.label = labels;
  cols.argmax = results.map((r) => r.top(1)[0]?.token);
  const answers = results.length ? Object.keys(results[0].logprobs) : [];
  for (const a of answers) cols[`lp_${a}`] = results.map((r) => r.logprobs[a]);
  if (results.some((r) => r.generated)) cols.generated = results.map((r) => r.generated?.text ?? null);
  return table(cols);
}
