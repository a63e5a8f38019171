// Fig 7: depth mistaken for height — steering an object's *vertical* spatial ID also moves the model's front/behind
// belief, i.e. the model has no separate depth representation.
//
// Per above/below question (subject S, reference R) and layer L, for j = 0..3: S += m·(U_L(0, j) − U_L(0, 3 − j))
// (column 0, j = 0 pushes S up, j = 3 down) in two prompts on the same image: "Is the S above or below the R?" and
// "Is the S in front of or behind the R?". Change of each answer word's log-prob (lp_patched − lp_clean), mean ± std
// over questions per j. The correlation the paper describes: over (question, j) pairs at a layer, Pearson and Spearman
// of Δheight = Δ[lp(above) − lp(below)] with Δdepth = Δ[lp(behind) − lp(front)] (positive r: "higher" reads as
// "behind", as on a ground plane seen from above). Passes per question: 2 clean + 2·|layers|·4 patched runs
// (patchMany per prompt, prefix reuse from S's word).
//
// Deviations from the authors' code (reference-code-spec §6, §11.3) and why:
//  1. Subject and reference come from the scene's ground truth; the authors' parser turns COCO captions into the
//     subject "photo of a" and steers the wrong token (§11.3 bug 1).
//  2. Height results are labelled above/below and depth results front/behind (the authors' notebook swaps the two,
//     §11.3 bug 2).
//  3. Token positions from the expanded sequence, every occurrence of the subject's last sub-token (authors: k + 576,
//     one token too far, §11.1); the ID of layer L is added at layer L (no one-layer offset, §11.2).
//  4. Answer tokens: first sub-tokens of " above", " below", " front", " behind" (authors: ▁A, ▁Below, ▁Be, ▁Front).
//  5. The correlation and its test are computed here; the authors only plot the two panels.
//  6. Data: seeded src/data above/below scenes (clutter-ab by default; frontbehind ground-plane scenes can be passed)
//     instead of 100 COCO-Spatial rows; prompts through the bundle's chat template.
import type { Model } from "../engine/model";
import { add, type Edit } from "../engine/edits";
import { resid } from "../engine/sites";
import { idDifference } from "../analysis/spatialIds";
import { mean, pearson, spearman, std } from "../analysis/stats";
import { normalSf } from "../analysis/normal";
import { Q } from "../data/questions";
import { idGridAt, scaled, type IdGrids, type SteeringSample } from "./steering";

export interface DepthHeightOptions {
  layers?: number[];
  /** multiplier m (default 5) */
  m?: number;
  /** column of the vertical sweep (default 0, as the authors) */
  column?: number;
  chat?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DepthHeightQuestion {
  index: number;
  task: string;
  /** ground truth of the image's above/below question when known */
  answer: string;
  height: { question: string; clean: Record<string, number>; change: Record<string, number>[][] };
  depth: { question: string; clean: Record<string, number>; change: Record<string, number>[][] };
}

export interface DepthHeightResult {
  model: string;
  layers: number[];
  /** the swept cells (column, j) for j = 0..3 */
  rows: number[];
  column: number;
  m: number;
  questions: DepthHeightQuestion[];
  runs: number;
  seconds: number;
}

const HEIGHT: [string, string] = ["above", "below"];
const DEPTH: [string, string] = ["front", "behind"];

export async function depthVsHeight(model: Model, samples: readonly SteeringSample[], ids: IdGrids, opts: DepthHeightOptions = {}): Promise<DepthHeightResult> {
  if (!model.instrumented) throw new Error("depthVsHeight: the model was loaded with instrumented: false");
  if (samples.length === 0) throw new Error("depthVsHeight: no questions");
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  for (const L of layers) if (!Number.isInteger(L) || L < 0 || L >= model.numLayers) throw new Error(`depthVsHeight: layer ${L} is outside 0..${model.numLayers - 1}`);
  const m = opts.m ?? 5;
  if (!Number.isFinite(m)) throw new Error(`depthVsHeight: m must be finite, got ${m}`);
  const column = opts.column ?? 0;
  const rows = [0, 1, 2, 3];
  const vec = layers.map((L) => {
    const g = idGridAt(ids, L);
    if (g.dim !== model.width) throw new Error(`depthVsHeight: IDs have width ${g.dim}, the model's residual stream ${model.width}`);
    if (!Number.isInteger(column) || column < 0 || column >= g.m) throw new Error(`depthVsHeight: column ${column} is outside 0..${g.m - 1}`);
    return rows.map((j) => scaled(idDifference(g, { x: column, y: j }, { x: column, y: g.m - 1 - j }), m));
  });
  const t0 = Date.now();
  let runs = 0;
  const questions: DepthHeightQuestion[] = [];
  for (let q = 0; q < samples.length; q++) {
    const s = samples[q];
    const prompts = { height: Q.aboveBelow(s.subject, s.reference), depth: Q.frontBehind(s.subject, s.reference) };
    const out: Partial<DepthHeightQuestion> = { index: s.index, task: s.task, answer: s.answer };
    for (const kind of ["height", "depth"] as const) {
      const words = kind === "height" ? HEIGHT : DEPTH;
      const input = await model.prepare({ image: s.image, prompt: prompts[kind], chat: opts.chat });
      const sp = input.positionsOf(s.subject);
      if (sp.length === 0) input.positionOf(s.subject); // throws naming the prompt tokens
      const sets: Edit[][] = [];
      layers.forEach((L, l) => rows.forEach((_, j) => sets.push([add(resid(L), sp, vec[l][j])])));
      const clean = await model.patch(input, [], { logprobs: words });
      const res = await model.patchMany(input, sets, { logprobs: words, batchSize: opts.batchSize ?? 16 });
      runs += 1 + res.length;
      const change = layers.map((_, l) =>
        rows.map((_, j) => {
          const r = res[l * rows.length + j];
          const o: Record<string, number> = {};
          for (const w of words) o[w] = r.logprobs[w] - clean.logprobs[w];
          return o;
        }),
      );
      out[kind] = { question: prompts[kind], clean: { ...clean.logprobs }, change };
    }
    questions.push(out as DepthHeightQuestion);
    model.clearCaches();
    opts.onProgress?.(q + 1, samples.length);
  }
  return { model: model.name, layers: [...layers], rows, column, m, questions, runs, seconds: (Date.now() - t0) / 1000 };
}

export interface DepthHeightSummary {
  layer: number;
  /** per row j: mean ± std change of each word (height: above/below; depth: front/behind) */
  height: { mean: Record<string, number[]>; std: Record<string, number[]> };
  depth: { mean: Record<string, number[]>; std: Record<string, number[]> };
  /** over (question, j): Δ[lp(above) − lp(below)] vs Δ[lp(behind) − lp(front)] */
  pairs: { heightEffect: number[]; depthEffect: number[] };
  pearson: number;
  spearman: number;
  /** two-sided p of the Pearson r (t test with n − 2 degrees of freedom, normal approximation for the t tail) */
  pPearson: number;
}

/** Two-sided p of a Pearson r from n pairs (t = r·√((n−2)/(1−r²)), tail by a normal approximation for n > 30). */
function pearsonP(r: number, n: number): number {
  if (!Number.isFinite(r) || n < 4) return NaN;
  if (Math.abs(r) >= 1) return 0;
  const t = Math.abs(r) * Math.sqrt((n - 2) / (1 - r * r));
  // Student t tail through the regularised incomplete beta would be exact; for n − 2 > 30 the normal tail is within
  // a few percent, which is all a notebook statement needs. Small n: report NaN rather than a wrong number.
  if (n - 2 <= 30) return NaN;
  const z = t * (1 - 1 / (4 * (n - 2))) / Math.sqrt(1 + (t * t) / (2 * (n - 2)));
  return Math.min(1, 2 * normalSf(z));
}

export function summariseDepthHeight(r: DepthHeightResult, layer: number): DepthHeightSummary {
  const l = r.layers.indexOf(layer);
  if (l < 0) throw new Error(`summariseDepthHeight: layer ${layer} was not run; layers: ${r.layers.join(", ")}`);
  const curves = (kind: "height" | "depth", words: [string, string]) => {
    const meanBy: Record<string, number[]> = {}, stdBy: Record<string, number[]> = {};
    for (const w of words) {
      meanBy[w] = r.rows.map((_, j) => mean(r.questions.map((q) => q[kind].change[l][j][w])));
      stdBy[w] = r.rows.map((_, j) => std(r.questions.map((q) => q[kind].change[l][j][w])));
    }
    return { mean: meanBy, std: stdBy };
  };
  const heightEffect: number[] = [], depthEffect: number[] = [];
  for (const q of r.questions)
    r.rows.forEach((_, j) => {
      heightEffect.push(q.height.change[l][j].above - q.height.change[l][j].below);
      depthEffect.push(q.depth.change[l][j].behind - q.depth.change[l][j].front);
    });
  const safe = (f: () => number): number => {
    try {
      return f();
    } catch {
      return NaN;
    }
  };
  const pr = safe(() => pearson(heightEffect, depthEffect));
  return {
    layer,
    height: curves("height", HEIGHT),
    depth: curves("depth", DEPTH),
    pairs: { heightEffect, depthEffect },
    pearson: pr,
    spearman: safe(() => spearman(heightEffect, depthEffect)),
    pPearson: pearsonP(pr, heightEffect.length),
  };
}
