// Fig 9: baseline accuracy vs steerability across models — are more accurate models easier to steer with spatial IDs?
//
// From one adversarialSteering run per model (the Fig 2 runs): baseline accuracy = fraction of greedy control
// answers that name the GT word and not the other (nonsense answers count as not correct, as the authors); per layer
// L, accuracy under ID steering and under the noise control. Steerability (the paper's axis, "ID belief Δ − noise
// belief Δ") = mean over layers of acc_noise(L) − acc_ID(L), error bar = population std over layers
// (analysis/accuracyDrop .noiseSubtracted). The authors' variant = mean over layers of acc_none − acc_ID(L), no noise
// subtracted, post-intervention accuracy over the questions with an unambiguous control answer only (their ID runs
// skip the others) while the baseline counts all questions. Across models: Pearson and Spearman correlation of
// baseline accuracy with steerability (NaN with fewer than 3 models).
//
// Deviations from the authors' code (reference-code-spec §4.4, §11.7) and why:
//  1. The default x value subtracts the noise drop, as the paper's axis label says (the authors' code does not);
//     their variant is reported next to it (`authors`).
//  2. Same question set for baseline, ID and noise accuracies in the default variant (authors: different
//     denominators, §11.7).
//  3. Verdicts use whole-word matching on a short greedy answer (authors: substring on up to 250 tokens).
//  4. Family = the model name without its checkpoint suffix (toy zoo members "toy-llava-zoo-<step>" form one family);
//     the authors use the first four characters of the alias.
import { accuracy, accuracyDrop, type Steerability } from "../analysis/steerability";
import { pearson, spearman } from "../analysis/stats";
import { createRng, permutation } from "../analysis/rng";
import type { AdversarialResult } from "./adversarialSteering";

export interface SteerabilityPoint {
  model: string;
  family: string;
  baseline: number;
  questions: number;
  /** per-layer accuracies (same order as layers) */
  layers: number[];
  idAccuracy: number[];
  noiseAccuracy: number[];
  /** the paper's axis: mean ± std over layers of (acc_noise − acc_ID) */
  steerability: { mean: number; std: number };
  /** the authors' code: mean ± std over layers of (acc_none − acc_ID on unambiguous questions) */
  authors: { mean: number; std: number; unambiguous: number };
  drop: Steerability;
}

/** Family of a model name: the toy zoo's checkpoint suffix ("-zoo-1500", "-step1500") and a trailing number removed. */
export function modelFamily(name: string): string {
  const base = name.split(/[\\/]/).filter(Boolean).pop() ?? name;
  return base.replace(/-zoo(-.*)?$/, "").replace(/-(step|ckpt)?-?\d+$/, "") || base;
}

/** Fig 9 point of one model from its adversarial-steering run. */
export function steerabilityPoint(r: AdversarialResult, family?: string): SteerabilityPoint {
  if (r.questions.length === 0) throw new Error(`steerability: the run of ${r.model} has no questions`);
  if (r.questions.some((q) => !q.noise)) throw new Error(`steerability: the run of ${r.model} has no noise control (run with noise: true)`);
  const baseline = accuracy(r.questions.map((q) => q.verdict));
  const idAccuracy = r.layers.map((_, j) => accuracy(r.questions.map((q) => q.id[j].verdict)));
  const noiseAccuracy = r.layers.map((_, j) => accuracy(r.questions.map((q) => q.noise![j].verdict)));
  const drop = accuracyDrop(baseline, new Map(r.layers.map((L, j) => [L, idAccuracy[j]])), new Map(r.layers.map((L, j) => [L, noiseAccuracy[j]])));
  const clear = r.questions.filter((q) => q.verdict !== "nonsense");
  let authors = { mean: NaN, std: NaN, unambiguous: clear.length };
  if (clear.length > 0) {
    const a = accuracyDrop(baseline, new Map(r.layers.map((L, j) => [L, accuracy(clear.map((q) => q.id[j].verdict))])));
    authors = { mean: a.mean, std: a.std, unambiguous: clear.length };
  }
  return {
    model: r.model,
    family: family ?? modelFamily(r.model),
    baseline,
    questions: r.questions.length,
    layers: r.layers,
    idAccuracy,
    noiseAccuracy,
    steerability: { mean: drop.noiseSubtracted!.mean, std: drop.noiseSubtracted!.std },
    authors,
    drop,
  };
}

export interface SteerabilityCorrelation {
  models: number;
  /** baseline accuracy vs noise-subtracted steerability */
  pearson: number;
  spearman: number;
  /** two-sided permutation p of the Spearman ρ (spearmanPermutationP) */
  spearmanP: number;
  /** baseline accuracy vs the authors' variant */
  pearsonAuthors: number;
  spearmanAuthors: number;
}

/** Correlation across models (NaN with fewer than 3 models or constant values). */
export function steerabilityCorrelation(points: readonly SteerabilityPoint[]): SteerabilityCorrelation {
  const n = points.length;
  const nan = { models: n, pearson: NaN, spearman: NaN, spearmanP: NaN, pearsonAuthors: NaN, spearmanAuthors: NaN };
  if (n < 3) return nan;
  const y = points.map((p) => p.baseline);
  const safe = (f: () => number): number => {
    try {
      return f();
    } catch {
      return NaN;
    }
  };
  const x = points.map((p) => p.steerability.mean);
  const xa = points.map((p) => p.authors.mean);
  return {
    models: n,
    pearson: safe(() => pearson(x, y)),
    spearman: safe(() => spearman(x, y)),
    spearmanP: spearmanPermutationP(x, y),
    pearsonAuthors: xa.every(Number.isFinite) ? safe(() => pearson(xa, y)) : NaN,
    spearmanAuthors: xa.every(Number.isFinite) ? safe(() => spearman(xa, y)) : NaN,
  };
}

/**
 * Two-sided permutation p of Spearman's ρ between x and y: the share of orderings of y with |ρ| ≥ |ρ observed|,
 * exact over all n! orderings for n ≤ 8, otherwise (count + 1) / (shuffles + 1) over `shuffles` seeded shuffles.
 * NaN with fewer than 3 pairs or when ρ is undefined (a constant variable). With 3 models the smallest possible p is
 * 1/3, with 5 models 1/60: the notebook states n next to p.
 */
export function spearmanPermutationP(x: readonly number[], y: readonly number[], shuffles = 20000, seed = 0): number {
  if (x.length !== y.length) throw new Error(`spearmanPermutationP: ${x.length} x values vs ${y.length} y values`);
  const n = x.length;
  const rho = (yy: readonly number[]): number => {
    try {
      return spearman(x as number[], yy as number[]);
    } catch {
      return NaN;
    }
  };
  const obs = rho(y);
  if (n < 3 || !Number.isFinite(obs)) return NaN;
  const tol = 1e-12;
  let hit = 0, total = 0;
  if (n <= 8) {
    // Heap's algorithm over all n! orderings
    const a = [...y];
    const c = new Array<number>(n).fill(0);
    const visit = () => {
      total++;
      if (Math.abs(rho(a)) >= Math.abs(obs) - tol) hit++;
    };
    visit();
    let i = 0;
    while (i < n) {
      if (c[i] < i) {
        const j = i % 2 === 0 ? 0 : c[i];
        [a[j], a[i]] = [a[i], a[j]];
        visit();
        c[i]++;
        i = 0;
      } else {
        c[i] = 0;
        i++;
      }
    }
    return hit / total;
  }
  const rng = createRng(seed);
  for (let k = 0; k < shuffles; k++) {
    const perm = permutation(n, rng);
    if (Math.abs(rho(perm.map((i) => y[i]))) >= Math.abs(obs) - tol) hit++;
  }
  return (hit + 1) / (shuffles + 1);
}
