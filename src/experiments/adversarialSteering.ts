// Fig 2: adversarial spatial-ID steering vs same-norm Gaussian noise — does adding the ID difference most likely to
// reverse the model's answer flip its belief more often than random vectors of the same norm?
//
// Per question (left/right or above/below) and per layer L (site blocks.L.hook_resid_post):
//   control run: first-token log-probs of GT and the other answer (d0 = lp(GT) − lp(other)), a short greedy answer,
//     and the residual-stream vectors x_L of the subject's and the reference's words;
//   ID run: the direction that reverses the model's belief — believed "right": subject += U(0,0) − U(3,0) (push left),
//     reference += U(3,0) − U(0,0); "left": the reverse; "above": subject += U(0,3) − U(0,0) (push down), reference
//     += the opposite; "below": the reverse — each vector rescaled to k·‖x_L[word]‖ (k = 5 by default);
//   noise run: independent N(0, I) directions for subject and reference with the same two norms.
// Flip = sign(d1) ≠ sign(d0) on the first answer token (analysis/flips; zero or non-finite margins excluded and
// counted). Per model: the authors' top-3-layer summary (layers picked by ID flip rate, noise at the same layers) and
// the unselected all-layer summary; across models: medians and net gain (flipHeadline). Test of ID vs noise: an
// exact two-sided sign test over questions of (#layers flipped by ID − #layers flipped by noise), plus an exact
// McNemar test per layer. The same runs give Fig 9's accuracies (steerability.ts).
// Passes per question: 1 control + 2·|layers| patched runs, batched on one input (patchMany) with prefix reuse
// (edits start at the subject's word, after the image).
//
// Deviations from the authors' code (reference-code-spec §4, §11) and why:
//  1. The reversing direction comes from the model's first-token belief (the sign of d0, i.e. the answer word it
//     prefers), not from substring-parsing a 250-token generation; no question is skipped, so the ID and noise runs
//     cover the same questions (authors: ambiguous answers skipped for ID runs only, §11.7). `nonsense` greedy
//     answers are still counted for Fig 9.
//  2. Norm: ‖x_L‖ of the word's vector at the edited (first) occurrence in the control run; the authors take a
//     Frobenius norm over all occurrences in prompt + 250 generated tokens (§11.5).
//  3. IDs are read and injected at the same site (no one-layer offset); layers = every block by default (the authors
//     use a model-specific 11–13-layer band); the band can be passed as `layers`.
//  4. Noise is seeded per (question, layer) (authors: unseeded randn).
//  5. Generation: `generate` greedy tokens (default 3) instead of up to 250; the flip metric only reads the first
//     token, and the toy model answers in one word. Verdicts use whole-word matching (authors: substring).
//  6. Answer tokens: the first sub-token of " " + word (model.answerToken) for every family (authors: per-family
//     candidate lists, max over "Left"/"left" pieces).
//  7. Data: seeded cluttered scenes from src/data (clutter-lr + clutter-ab, the COCO-Spatial stand-in) instead of the
//     440 What'sUp rows; prompt = the bundle's chat template with the question (no ' Answer "left" or "right" only.'
//     suffix: the toy model is trained to answer with one word).
//  8. Reported in addition: the all-layer summary, the statistical test, exclusions, and legend labels "spatial ID" /
//     "noise" (the authors' legend says "Correct"/"Wrong").
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, type LoadOptions, type Model } from "../engine/model";
import { readBundle } from "../engine/bundle";
import { add, type Edit } from "../engine/edits";
import { resid } from "../engine/sites";
import { idDifference, type SpatialIdGrid } from "../analysis/spatialIds";
import { createRng, randomVectorWithNorm } from "../analysis/rng";
import { answerVerdict, type Verdict } from "../analysis/steerability";
import { allLayerSummary, flipRatesByLayer, isFlipped, topLayerSummary, type FlipRate, type FlipSample, type LayerSummary } from "../analysis/flips";
import { hashSeed } from "../data/seeds";
import { bundleFingerprint, idGridAt, l2norm, negated, scaleToNorm, sceneObjectsFor, steeringSamples, universalIdsFor, type IdGrids, type SteeringSample } from "./steering";

export interface AdversarialOptions {
  /** block indices to steer at (default every block) */
  layers?: number[];
  /** steering norm = factor · ‖x_L[word]‖ (default 5) */
  factor?: number;
  /** seed of the noise control (default 0) */
  seed?: number;
  /** greedy answer tokens per run for the verdicts (default 3) */
  generate?: number;
  /** run the noise control (default true) */
  noise?: boolean;
  chat?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RunOutcome {
  /** d1 = lp(GT) − lp(other) after the intervention */
  d: number;
  flipped: boolean | null;
  text: string;
  verdict: Verdict;
}

export interface AdversarialQuestion {
  index: number;
  task: string;
  question: string;
  answer: string;
  other: string;
  /** control log-probs of GT and other, and their margin d0 */
  lpGt: number;
  lpOther: number;
  d0: number;
  /** the answer word the model prefers on the first token (the direction is chosen to reverse it) */
  believed: string;
  text: string;
  verdict: Verdict;
  /** ‖x_L‖ of subject and reference per layer (same order as layers) */
  norms: { subject: number[]; reference: number[] };
  /** per layer (same order as layers) */
  id: RunOutcome[];
  noise?: RunOutcome[];
}

export interface AdversarialResult {
  model: string;
  layers: number[];
  factor: number;
  questions: AdversarialQuestion[];
  runs: number;
  sessionCalls: number;
  seconds: number;
}

/** Cells of the reversing ID: subject moves from `from` to `to` (the reference the other way). */
export function reversingCells(believed: string): { from: { x: number; y: number }; to: { x: number; y: number } } {
  switch (believed) {
    case "right": return { from: { x: 3, y: 0 }, to: { x: 0, y: 0 } };
    case "left": return { from: { x: 0, y: 0 }, to: { x: 3, y: 0 } };
    case "above": return { from: { x: 0, y: 0 }, to: { x: 0, y: 3 } };
    case "below": return { from: { x: 0, y: 3 }, to: { x: 0, y: 0 } };
    default:
      throw new Error(`adversarial steering handles left/right and above/below questions; the model's answer word is "${believed}"`);
  }
}

export interface AdversarialEditSpec {
  layers: readonly number[];
  /** ID grid per layer (same order) */
  grids: readonly SpatialIdGrid[];
  /** the answer word to reverse */
  believed: string;
  subjectPositions: number | number[];
  referencePositions: number | number[];
  /** ‖x_L‖ of the subject's / reference's word per layer */
  subjectNorms: readonly number[];
  referenceNorms: readonly number[];
  factor: number;
  width: number;
  /** seed of the noise vectors of one layer; no noise edits without it */
  noiseSeed?: (layer: number) => number;
}

/**
 * The edit sets of one question, one per layer: ID (subject += U(to) − U(from), reference += the opposite, each
 * rescaled to factor·‖x_L‖) and noise (independent Gaussian directions with the same norms).
 */
export function adversarialEdits(spec: AdversarialEditSpec): { id: Edit[][]; noise: Edit[][] } {
  const { from, to } = reversingCells(spec.believed);
  const id: Edit[][] = [], noise: Edit[][] = [];
  spec.layers.forEach((L, k) => {
    const site = resid(L);
    const nS = spec.factor * spec.subjectNorms[k], nR = spec.factor * spec.referenceNorms[k];
    const dir = idDifference(spec.grids[k], to, from);
    id.push([add(site, spec.subjectPositions, scaleToNorm(dir, nS)), add(site, spec.referencePositions, scaleToNorm(negated(dir), nR))]);
    if (spec.noiseSeed) {
      const rng = createRng(spec.noiseSeed(L));
      noise.push([add(site, spec.subjectPositions, randomVectorWithNorm(spec.width, nS, rng)), add(site, spec.referencePositions, randomVectorWithNorm(spec.width, nR, rng))]);
    }
  });
  return { id, noise };
}

/** Runs the ID and noise interventions for every question (see the header). */
export async function adversarialSteering(model: Model, samples: readonly SteeringSample[], ids: IdGrids, opts: AdversarialOptions = {}): Promise<AdversarialResult> {
  if (!model.instrumented) throw new Error("adversarialSteering: the model was loaded with instrumented: false");
  if (samples.length === 0) throw new Error("adversarialSteering: no questions");
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  if (layers.length === 0) throw new Error("adversarialSteering: no layers");
  for (const L of layers) if (!Number.isInteger(L) || L < 0 || L >= model.numLayers) throw new Error(`adversarialSteering: layer ${L} is outside 0..${model.numLayers - 1}`);
  const factor = opts.factor ?? 5;
  if (!Number.isFinite(factor) || factor < 0) throw new Error(`adversarialSteering: factor must be a finite number ≥ 0, got ${factor}`);
  const generate = opts.generate ?? 3;
  const withNoise = opts.noise ?? true;
  const seed = opts.seed ?? 0;
  const grids = layers.map((L) => idGridAt(ids, L));
  for (const g of grids) if (g.dim !== model.width) throw new Error(`adversarialSteering: IDs have width ${g.dim}, the model's residual stream ${model.width}`);
  for (const s of samples) if (!["left", "right", "above", "below"].includes(s.answer)) throw new Error(`adversarialSteering: question ${s.index} ("${s.question}") is not a left/right or above/below question`);
  const t0 = Date.now(), calls0 = model.sessionCalls;
  let runs = 0;
  const questions: AdversarialQuestion[] = [];
  for (let q = 0; q < samples.length; q++) {
    const s = samples[q];
    const input = await model.prepare({ image: s.image, prompt: s.question, chat: opts.chat });
    const sp = input.positionOf(s.subject), rp = input.positionOf(s.reference);
    const logprobs = [s.answer, s.other];
    const control = await model.patch(input, [], { logprobs, generate, trace: layers.map((L) => ({ site: resid(L), positions: [sp, rp] })) });
    const lpGt = control.logprobs[s.answer], lpOther = control.logprobs[s.other];
    const d0 = lpGt - lpOther;
    const believed = d0 >= 0 ? s.answer : s.other;
    const nS = layers.map((L) => l2norm(control.get(resid(L)).row(0)));
    const nR = layers.map((L) => l2norm(control.get(resid(L)).row(1)));
    const { id: idEdits, noise: noiseEdits } = adversarialEdits({
      layers, grids, believed, subjectPositions: sp, referencePositions: rp, subjectNorms: nS, referenceNorms: nR, factor, width: model.width,
      noiseSeed: withNoise ? (L) => hashSeed(seed, "fig02-noise", model.name, s.task, s.index, L) : undefined,
    });
    const all = await model.patchMany(input, [...idEdits, ...noiseEdits], { logprobs, generate, batchSize: opts.batchSize ?? 16 });
    runs += 1 + all.length;
    const outcome = (k: number): RunOutcome => {
      const r = all[k];
      const d = r.logprobs[s.answer] - r.logprobs[s.other];
      const text = r.generated?.text ?? "";
      return { d, flipped: isFlipped(d0, d), text, verdict: answerVerdict(text, s.answer, s.other) };
    };
    const text = control.generated?.text ?? "";
    questions.push({
      index: s.index, task: s.task, question: s.question, answer: s.answer, other: s.other, lpGt, lpOther, d0, believed,
      text, verdict: answerVerdict(text, s.answer, s.other), norms: { subject: nS, reference: nR },
      id: layers.map((_, k) => outcome(k)),
      noise: withNoise ? layers.map((_, k) => outcome(layers.length + k)) : undefined,
    });
    model.clearCaches();
    opts.onProgress?.(q + 1, samples.length);
  }
  return { model: model.name, layers: [...layers], factor, questions, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Exact two-sided binomial test of k successes in n trials at p = 1/2 (sign test, McNemar). 1 when n = 0. */
export function binomialTwoSided(k: number, n: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) throw new Error(`binomialTwoSided: need integers 0 ≤ k ≤ n, got k = ${k}, n = ${n}`);
  if (n === 0) return 1;
  const lo = Math.min(k, n - k);
  // P(X ≤ lo) with X ~ Bin(n, 1/2), summed in log space
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= lo; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface FlipTest {
  /** questions where ID flipped at more layers than noise / fewer / equally often */
  idMore: number;
  noiseMore: number;
  ties: number;
  /** exact two-sided sign test over questions (ties dropped) */
  p: number;
  /** per layer: exact McNemar on discordant (question) pairs */
  perLayer: { layer: number; idOnly: number; noiseOnly: number; p: number }[];
}

export interface AdversarialSummary {
  model: string;
  layers: number[];
  idRates: Map<number, FlipRate>;
  noiseRates: Map<number, FlipRate>;
  /** the authors' Fig 2 bar: top-k layers by ID flip rate, noise at the same layers */
  top: LayerSummary;
  /** every layer, no selection */
  all: LayerSummary;
  test: FlipTest;
  /** questions whose greedy answer names neither word (kept, see deviation 1) */
  nonsense: number;
  questions: number;
}

/** Flip rates per layer, the top-k and all-layer summaries, and the ID-vs-noise tests of one model's run. */
export function summariseAdversarial(r: AdversarialResult, k = 3): AdversarialSummary {
  if (r.questions.some((q) => !q.noise)) throw new Error("summariseAdversarial: the run has no noise control (run with noise: true)");
  const byLayer = (kind: "id" | "noise"): Map<number, FlipSample[]> =>
    new Map(r.layers.map((L, j) => [L, r.questions.map((q) => ({ d0: q.d0, d1: (kind === "id" ? q.id : q.noise!)[j].d }))]));
  const idRates = flipRatesByLayer(byLayer("id"));
  const noiseRates = flipRatesByLayer(byLayer("noise"));
  let idMore = 0, noiseMore = 0, ties = 0;
  for (const q of r.questions) {
    const a = q.id.filter((o) => o.flipped === true).length;
    const b = q.noise!.filter((o) => o.flipped === true).length;
    if (a > b) idMore++;
    else if (b > a) noiseMore++;
    else ties++;
  }
  const perLayer = r.layers.map((layer, j) => {
    let idOnly = 0, noiseOnly = 0;
    for (const q of r.questions) {
      const a = q.id[j].flipped, b = q.noise![j].flipped;
      if (a === null || b === null) continue;
      if (a && !b) idOnly++;
      if (b && !a) noiseOnly++;
    }
    return { layer, idOnly, noiseOnly, p: binomialTwoSided(idOnly, idOnly + noiseOnly) };
  });
  return {
    model: r.model,
    layers: r.layers,
    idRates,
    noiseRates,
    top: topLayerSummary(idRates, noiseRates, Math.min(k, r.layers.length)),
    all: allLayerSummary(idRates, noiseRates),
    test: { idMore, noiseMore, ties, p: binomialTwoSided(idMore, idMore + noiseMore), perLayer },
    nonsense: r.questions.filter((q) => q.verdict === "nonsense").length,
    questions: r.questions.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One model's Fig 2 / Fig 9 run, cached (the two notebooks share it)

export interface ModelRunOptions {
  /** questions per task: n left/right (clutter-lr) + n above/below (clutter-ab) */
  n: number;
  factor?: number;
  /** scene seed (default 42) */
  seed?: number;
  /** noise seed (default 0) */
  noiseSeed?: number;
  layers?: number[];
  generate?: number;
  /** objects of the universal IDs when they must be computed (universalIdsFor) and their artefact variant */
  idObjects?: readonly string[];
  idVariant?: string;
  /** base path of the ID artefact instead of out/universal-ids/<model>[-idVariant] */
  idPath?: string;
  /** folder of the result cache (default none); a cached result is reused only when bundle and parameters match */
  cacheDir?: string;
  /** suffix of the cache file name (e.g. "-ci") */
  cacheSuffix?: string;
  load?: LoadOptions;
  onIdProgress?: (model: string, done: number, total: number) => void;
  onProgress?: (model: string, done: number, total: number) => void;
}

export interface ModelRun {
  result: AdversarialResult;
  /** where the result came from: "cache <file>" or "computed" */
  source: string;
  /** where the IDs came from (universalIdsFor), empty for a cached result */
  idSource: string;
  /** the cache file written or read, when cacheDir is set */
  file?: string;
}

/**
 * Loads the bundle `name`, gets its universal IDs (universalIdsFor), draws n seeded clutter-lr + n clutter-ab
 * questions and runs adversarialSteering on them; disposes the model. With `cacheDir`, the result is written to
 * <cacheDir>/adversarial-<model><suffix>.json with a fingerprint of the bundle (file sizes and mtimes) and every
 * parameter, and a later call with the same fingerprint returns it instead of recomputing (same seeds → same numbers).
 */
export async function adversarialForModel(name: string, opts: ModelRunOptions): Promise<ModelRun> {
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`adversarialForModel: n must be a positive integer, got ${opts.n}`);
  const bundle = readBundle(name); // cheap: the cache is checked before any ONNX session is created
  const params = {
    n: opts.n, factor: opts.factor ?? 5, seed: opts.seed ?? 42, noiseSeed: opts.noiseSeed ?? 0, generate: opts.generate ?? 3,
    layers: opts.layers ?? null, idObjects: opts.idObjects ? [...opts.idObjects] : null, idVariant: opts.idVariant ?? null, idPath: opts.idPath ?? null,
  };
  const fingerprint = JSON.stringify({ bundle: bundleFingerprint(bundle), params, version: 1 });
  const file = opts.cacheDir ? join(opts.cacheDir, `adversarial-${bundle.name}${opts.cacheSuffix ?? ""}.json`) : undefined;
  if (file && existsSync(file)) {
    let cached: { fingerprint?: string; result?: AdversarialResult } | undefined;
    try {
      cached = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      cached = undefined; // a truncated cache file is recomputed and overwritten
    }
    if (cached?.fingerprint === fingerprint && cached.result) return { result: cached.result, source: `cache ${file}`, idSource: "", file };
  }
  const model = await loadModel(bundle.dir, opts.load);
  try {
    const ids = await universalIdsFor(model, {
      variant: opts.idVariant, path: opts.idPath, objects: opts.idObjects, onProgress: opts.onIdProgress ? (d, t) => opts.onIdProgress!(model.name, d, t) : undefined,
    });
    const sopts = { size: model.meta.image_size, seed: params.seed, objects: sceneObjectsFor(model) };
    const samples = [...(await steeringSamples("clutter-lr", opts.n, sopts)), ...(await steeringSamples("clutter-ab", opts.n, sopts))];
    const result = await adversarialSteering(model, samples, ids, {
      layers: opts.layers, factor: params.factor, seed: params.noiseSeed, generate: params.generate,
      onProgress: opts.onProgress ? (d, t) => opts.onProgress!(model.name, d, t) : undefined,
    });
    if (file) {
      mkdirSync(opts.cacheDir!, { recursive: true });
      writeFileSync(file, JSON.stringify({ fingerprint, result }));
    }
    return { result, source: "computed", idSource: ids.source, file };
  } finally {
    await model.dispose();
  }
}

/** Mean |d1 − d0| over questions per layer: how far each intervention moves the answer margin at all. */
export function marginShift(r: AdversarialResult): { layer: number; id: number; noise: number }[] {
  return r.layers.map((layer, j) => {
    const m = (k: "id" | "noise"): number => {
      const v = r.questions.map((q) => Math.abs((k === "id" ? q.id : q.noise ?? [])[j]?.d - q.d0)).filter(Number.isFinite);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    };
    return { layer, id: m("id"), noise: m("noise") };
  });
}
