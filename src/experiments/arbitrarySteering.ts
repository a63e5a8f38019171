// Fig 6a–d: arbitrary spatial-ID steering — moving an object's ID moves the model's belief.
//
// 6a (layerSweep): one image, "Is the S to the left or right of the R?", for every layer L: no edit; Int 1 =
//   R += m·(U_L(a) − U_L(b)), S += m·(U_L(b) − U_L(a)) with a = (0, 1), b = (3, 1) (R to the left column, S to the
//   right one: "right" should rise); Int 2 = the reverse. Reads lp("left"), lp("right") at the last position.
// 6b/6c/6d (cellSweep): per question and layer, for each cell c of the 4×4 grid, subject += m·(U_L(c) − U_L(c')) with
//   c' = mirror(c) (horizontal for left/right and near/far, vertical for in between); the change of each answer
//   word's log-prob, lp_patched − lp_clean, summarised per cell as mean ± std over questions, split by ground truth.
//   The paper plots the top row (0,0)…(3,0) for 6b/6c and column 2 (2,0)…(2,3) for 6d; all 16 cells are run.
//   `cellContrast` tests the direction: per question, effect(c_hi) − effect(c_lo) of lp(w_hi) − lp(w_lo), with an
//   exact two-sided sign test over questions.
// Passes: 6a 1 + 2·|layers|; 6b–d per question 1 + |layers|·|cells|, batched on one input (patchMany) with prefix
// reuse from the subject's word.
//
// Deviations from the authors' code (reference-code-spec §5, §11) and why:
//  1. Token positions from the expanded sequence (PreparedInput.positionsOf): every occurrence of the word's last
//     sub-token, as the authors intend; their 6b–d scripts use k + 576 and hit the token after the word (§11.1).
//  2. The ID of layer L is added at layer L (same site). The authors inject IDs read at hidden_states[L] into
//     hidden_states[L+1], and 6a always uses the layer-13 ID at every layer (§11.2); `idLayer` reproduces a fixed ID
//     layer for 6a.
//  3. Sign: the reported change is lp_patched − lp_clean (positive = the word became more likely); the authors store
//     lp_clean − lp_patched. Panels are titled by the ground truth they hold (the authors' titles are swapped, §11.4).
//  4. IDs: our universal IDs (tiles on black) — the authors' Fig 6 file was extracted "with background".
//  5. Prompt: the bundle's chat template with the question (authors: raw "<image>\nQUESTION: … Answer Left or Right.
//     ANSWER: " prompts); answer tokens = first sub-token of " " + word (authors: ▁Left/▁Right, ▁Near/▁Far, ▁Yes/▁No).
//  6. Data: seeded src/data scenes (clutter-lr for 6b, nearfar for 6c, inbetween for 6d) instead of 100 COCO rows
//     and downloaded Objaverse renders; 6a uses one clutter-lr scene instead of COCO val1.jpg.
//  7. m = 5 by default, unnormalised, as the authors; the scale of the toy model's IDs differs from LLaVA's, so the
//     notebooks state the ID norms next to the token norms.
import type { Model } from "../engine/model";
import { add, type Edit } from "../engine/edits";
import { resid } from "../engine/sites";
import { idDifference, mirrorCell, type GridCell } from "../analysis/spatialIds";
import { mean, std } from "../analysis/stats";
import { binomialTwoSided } from "./adversarialSteering";
import { idGridAt, scaled, type IdGrids, type SteeringSample } from "./steering";

const ALL_CELLS: GridCell[] = Array.from({ length: 16 }, (_, r) => ({ x: r % 4, y: Math.floor(r / 4) }));

/** Every occurrence of a word's last sub-token in the prompt (outside the image); throws when absent. */
function wordPositions(input: { positionsOf(w: string): number[]; positionOf(w: string): number }, word: string): number[] {
  const p = input.positionsOf(word);
  if (p.length === 0) input.positionOf(word); // throws the engine's message listing the prompt tokens
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// 6a

export interface LayerSweepOptions {
  /** block indices (default every block) */
  layers?: number[];
  /** multiplier m (default 5) */
  m?: number;
  /** the two cells (default a = (0, 1), b = (3, 1): the authors' loc_0-1_3-1) */
  cellA?: GridCell;
  cellB?: GridCell;
  /** take the IDs from this block at every layer (the authors' fixed layer-13 ID); default: the same layer */
  idLayer?: number;
  /** answer words (default ["left", "right"]) */
  answers?: [string, string];
  chat?: boolean;
  batchSize?: number;
}

export interface LayerSweepResult {
  model: string;
  question: string;
  subject: string;
  reference: string;
  answer: string;
  layers: number[];
  answers: [string, string];
  m: number;
  /** clean log-probs per answer word (the same at every layer) */
  none: Record<string, number>;
  /** Int 1 (subject → cellB, reference → cellA) and Int 2 (the reverse): log-probs per layer per word */
  int1: Record<string, number>[];
  int2: Record<string, number>[];
  cells: { a: GridCell; b: GridCell };
  runs: number;
}

export async function layerSweep(model: Model, sample: SteeringSample, ids: IdGrids, opts: LayerSweepOptions = {}): Promise<LayerSweepResult> {
  if (!model.instrumented) throw new Error("layerSweep: the model was loaded with instrumented: false");
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  for (const L of layers) if (!Number.isInteger(L) || L < 0 || L >= model.numLayers) throw new Error(`layerSweep: layer ${L} is outside 0..${model.numLayers - 1}`);
  const m = opts.m ?? 5;
  if (!Number.isFinite(m)) throw new Error(`layerSweep: m must be finite, got ${m}`);
  const a = opts.cellA ?? { x: 0, y: 1 }, b = opts.cellB ?? { x: 3, y: 1 };
  const answers = opts.answers ?? (["left", "right"] as [string, string]);
  const input = await model.prepare({ image: sample.image, prompt: sample.question, chat: opts.chat });
  const sp = wordPositions(input, sample.subject), rp = wordPositions(input, sample.reference);
  const sets: Edit[][] = [];
  for (const sign of [1, -1])
    for (const L of layers) {
      const g = idGridAt(ids, opts.idLayer ?? L);
      if (g.dim !== model.width) throw new Error(`layerSweep: IDs have width ${g.dim}, the model's residual stream ${model.width}`);
      const d = idDifference(g, b, a); // U(b) − U(a): towards b
      sets.push([add(resid(L), sp, scaled(d, sign * m)), add(resid(L), rp, scaled(d, -sign * m))]);
    }
  const clean = await model.patch(input, [], { logprobs: answers });
  const res = await model.patchMany(input, sets, { logprobs: answers, batchSize: opts.batchSize ?? 16 });
  model.clearCaches();
  const pick = (k: number) => ({ ...res[k].logprobs });
  return {
    model: model.name, question: sample.question, subject: sample.subject, reference: sample.reference, answer: sample.answer,
    layers: [...layers], answers, m, none: { ...clean.logprobs },
    int1: layers.map((_, k) => pick(k)), int2: layers.map((_, k) => pick(layers.length + k)), cells: { a, b }, runs: 1 + res.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 6b–d

export interface CellSweepOptions {
  /** block indices (default every block) */
  layers?: number[];
  /** multiplier m (default 5) */
  m?: number;
  /** "horizontal" (left/right, near/far; default) or "vertical" (in between, Fig 7) */
  mirror?: "horizontal" | "vertical";
  /** cells swept (default all 16) */
  cells?: GridCell[];
  /** also steer the reference with the opposite vector (the authors comment this out; default false) */
  steerReference?: boolean;
  chat?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CellSweepQuestion {
  index: number;
  question: string;
  answer: string;
  /** clean log-probs per answer word */
  clean: Record<string, number>;
  /** change[l][c][word] = lp_patched − lp_clean at layers[l], cells[c] */
  change: Record<string, number>[][];
}

export interface CellSweepResult {
  model: string;
  task: string;
  layers: number[];
  cells: GridCell[];
  mirror: "horizontal" | "vertical";
  answers: [string, string];
  m: number;
  questions: CellSweepQuestion[];
  runs: number;
  sessionCalls: number;
  seconds: number;
}

export async function cellSweep(model: Model, samples: readonly SteeringSample[], ids: IdGrids, opts: CellSweepOptions = {}): Promise<CellSweepResult> {
  if (!model.instrumented) throw new Error("cellSweep: the model was loaded with instrumented: false");
  if (samples.length === 0) throw new Error("cellSweep: no questions");
  const task = samples[0].task;
  for (const s of samples) if (s.task !== task) throw new Error(`cellSweep: questions mix tasks ${task} and ${s.task}; run one task at a time`);
  const answers = samples[0].answers;
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  for (const L of layers) if (!Number.isInteger(L) || L < 0 || L >= model.numLayers) throw new Error(`cellSweep: layer ${L} is outside 0..${model.numLayers - 1}`);
  const m = opts.m ?? 5;
  if (!Number.isFinite(m)) throw new Error(`cellSweep: m must be finite, got ${m}`);
  const mirror = opts.mirror ?? "horizontal";
  if (mirror !== "horizontal" && mirror !== "vertical") throw new Error(`cellSweep: mirror must be "horizontal" or "vertical", got ${JSON.stringify(mirror)}`);
  const cells = opts.cells ?? ALL_CELLS;
  if (cells.length === 0) throw new Error("cellSweep: no cells");
  // the steering vectors do not depend on the question: build them once
  const vec = layers.map((L) => {
    const g = idGridAt(ids, L);
    if (g.dim !== model.width) throw new Error(`cellSweep: IDs have width ${g.dim}, the model's residual stream ${model.width}`);
    return cells.map((c) => scaled(idDifference(g, c, mirrorCell(c, mirror, g.m)), m));
  });
  const t0 = Date.now(), calls0 = model.sessionCalls;
  let runs = 0;
  const questions: CellSweepQuestion[] = [];
  for (let q = 0; q < samples.length; q++) {
    const s = samples[q];
    const input = await model.prepare({ image: s.image, prompt: s.question, chat: opts.chat });
    const sp = wordPositions(input, s.subject);
    const rp = opts.steerReference ? wordPositions(input, s.reference) : [];
    const sets: Edit[][] = [];
    layers.forEach((L, l) =>
      cells.forEach((_, c) => {
        const e = [add(resid(L), sp, vec[l][c])];
        if (opts.steerReference) e.push(add(resid(L), rp, scaled(vec[l][c], -1)));
        sets.push(e);
      }),
    );
    const clean = await model.patch(input, [], { logprobs: answers });
    const res = await model.patchMany(input, sets, { logprobs: answers, batchSize: opts.batchSize ?? 16 });
    runs += 1 + res.length;
    const change = layers.map((_, l) =>
      cells.map((_, c) => {
        const r = res[l * cells.length + c];
        const out: Record<string, number> = {};
        for (const w of answers) out[w] = r.logprobs[w] - clean.logprobs[w];
        return out;
      }),
    );
    questions.push({ index: s.index, question: s.question, answer: s.answer, clean: { ...clean.logprobs }, change });
    model.clearCaches();
    opts.onProgress?.(q + 1, samples.length);
  }
  return { model: model.name, task, layers: [...layers], cells: cells.map((c) => ({ ...c })), mirror, answers, m, questions, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000 };
}

export interface CellCurve {
  layer: number;
  /** ground-truth word of the questions in this group */
  groundTruth: string;
  n: number;
  /** word → mean / population std of the change per plotted cell */
  mean: Record<string, number[]>;
  std: Record<string, number[]>;
}

function cellIndex(r: CellSweepResult, c: GridCell): number {
  const k = r.cells.findIndex((d) => d.x === c.x && d.y === c.y);
  if (k < 0) throw new Error(`cell (${c.x}, ${c.y}) was not swept; swept: ${r.cells.map((d) => `(${d.x}, ${d.y})`).join(" ")}`);
  return k;
}

function layerIndex(layers: readonly number[], L: number): number {
  const l = layers.indexOf(L);
  if (l < 0) throw new Error(`layer ${L} was not run; layers: ${layers.join(", ")}`);
  return l;
}

/** Mean ± std change per plotted cell for each layer and ground-truth group (empty groups are left out). */
export function cellCurves(r: CellSweepResult, plotCells: readonly GridCell[], layers: readonly number[] = r.layers): CellCurve[] {
  const idx = plotCells.map((c) => cellIndex(r, c));
  const out: CellCurve[] = [];
  for (const L of layers) {
    const l = layerIndex(r.layers, L);
    for (const gt of r.answers) {
      const qs = r.questions.filter((q) => q.answer === gt);
      if (qs.length === 0) continue;
      const meanBy: Record<string, number[]> = {}, stdBy: Record<string, number[]> = {};
      for (const w of r.answers) {
        meanBy[w] = idx.map((c) => mean(qs.map((q) => q.change[l][c][w])));
        stdBy[w] = idx.map((c) => std(qs.map((q) => q.change[l][c][w])));
      }
      out.push({ layer: L, groundTruth: gt, n: qs.length, mean: meanBy, std: stdBy });
    }
  }
  return out;
}

export interface CellContrast {
  layer: number;
  hi: GridCell;
  lo: GridCell;
  /** the margin compared: lp(wordHi) − lp(wordLo) */
  wordHi: string;
  wordLo: string;
  /** mean over questions of margin change at hi minus at lo */
  meanEffect: number;
  /** questions where the effect is > 0 / < 0 */
  positive: number;
  negative: number;
  /** exact two-sided sign test */
  p: number;
}

/** Does steering towards `hi` rather than `lo` raise lp(wordHi) − lp(wordLo)? Per question, sign test over questions. */
export function cellContrast(r: CellSweepResult, layer: number, hi: GridCell, lo: GridCell, wordHi: string, wordLo: string): CellContrast {
  const l = layerIndex(r.layers, layer);
  const a = cellIndex(r, hi), b = cellIndex(r, lo);
  for (const w of [wordHi, wordLo]) if (!r.answers.includes(w)) throw new Error(`cellContrast: "${w}" is not an answer of this run (${r.answers.join(", ")})`);
  const eff = r.questions.map((q) => q.change[l][a][wordHi] - q.change[l][a][wordLo] - (q.change[l][b][wordHi] - q.change[l][b][wordLo]));
  const positive = eff.filter((e) => e > 0).length, negative = eff.filter((e) => e < 0).length;
  return { layer, hi, lo, wordHi, wordLo, meanEffect: mean(eff), positive, negative, p: binomialTwoSided(positive, positive + negative) };
}

/** The cells the paper plots: the top row for horizontal mirrors, column 2 for vertical ones. */
export function paperCells(mirror: "horizontal" | "vertical"): GridCell[] {
  return mirror === "horizontal" ? [0, 1, 2, 3].map((x) => ({ x, y: 0 })) : [0, 1, 2, 3].map((y) => ({ x: 2, y }));
}
