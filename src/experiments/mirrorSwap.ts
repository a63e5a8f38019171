// Fig 4: mirror swapping (4A) and the attribute-swap control (4B) — where does spatial information converge?
//
// For each left/right question, run the original image x and a counterfactual image y (its horizontal mirror, or a
// rainbow-recoloured copy), then for every site L and token set Q re-run x with the residual stream at (L, Q)
// replaced by y's values. Belief shift per answer word t: (lp_x[t] − lp_patched[t]) / (lp_x[t] − lp_y[t]);
// 1 = the patch carries the whole counterfactual belief, 0 = no effect. Passes per question: 2 clean runs (x for its
// log-probs, y traced at every site and every position of Q) + |sites|·|Q sets| patched runs, batched per token set
// with the engine's prefix reuse (the object-word and text sets start after the image, so their runs only compute
// the question's suffix).
//
// Deviations from the authors' code (reference-code-spec §3, §11) and why:
//  1. Token positions are found by tokenizing the expanded sequence (PreparedInput.positionOf / imageTokens /
//     textTokens), never by `k + 575` offsets. The authors' "text" set starts 2 positions inside the image (off by
//     2); here "text" = every position after the last image token (template words, question, generation prompt).
//     Text before the image (BOS, "USER:") is identical in x and y under causal attention, so leaving it out changes
//     nothing but lets prefix reuse skip the image.
//  2. Layers: every site, hook_embed (reported as layer −1) and blocks.0 … blocks.{n−1}.hook_resid_post. The
//     x axis is the block index L of `blocks.L.hook_resid_post`, which is the authors' Convention B for Fig 4 (hook
//     on layers[L] = HF hidden_states[L+1]); they ran L = 1..31 only, skipping the embeddings and block 0.
//  3. Prompt: the bundle's chat template (the toy model is trained on "USER: <image>\n{q} ASSISTANT:") instead of
//     the raw LLaVA prompt "<image>\nQUESTION: … Answer left or right. ANSWER: ". `chat: false` + `promptTemplate`
//     reproduces a raw prompt for real LLaVA bundles.
//  4. Data: seeded cluttered left/right scenes from src/data (the COCO-Spatial stand-in) instead of 100 COCO images
//     sampled with random.seed(42); the rainbow recolouring is seeded per sample (authors: unseeded numpy).
//  5. Answer tokens: the first sub-token of " left" / " right" (model.answerToken). The authors score the pieces
//     without "▁"; for the word-level toy tokenizer both are the same token.
//  6. Zero or non-finite denominators give NaN and are counted (`undefinedCount`), not silently mapped to 0 as in the
//     authors' notebook; `summariseMirrorSwap(..., "zero")` reproduces their NaN → 0.
//  7. Also reported: the paper's GT-conditioned form on probabilities, (P_x(GT) − P_patched(GT)) / (P_x(GT) − P_y(GT)),
//     which the authors' code never computes; and a population std band as in their plot.
//  8. Panel titles are the token sets actually swapped (the authors' notebook swaps the "image" and "text" titles).
import type { Model } from "../engine/model";
import type { PreparedInput } from "../engine/prepared";
import { replace, type Edit } from "../engine/edits";
import { resid, type SiteName } from "../engine/sites";
import { beliefShift, beliefShiftGt, summariseShifts, type ShiftSummary } from "../analysis/beliefShift";
import { streamRng } from "../data/seeds";
import { clutterLr } from "../data/sceneTasks";
import { mirrorSample } from "../data/mirror";
import { randomRainbow, recolourRainbow } from "../data/rainbow";
import type { RgbImage } from "../data/image";
import type { Split } from "../data/pools";
import type { TaskSample } from "../data/task";
import { clutterScene } from "../data/clutter";
import { pickDistinct } from "../data/seeds";
import { Q } from "../data/questions";
import type { Rng } from "../analysis/rng";
import { fmt } from "./format";

export type SwapKind = "mirror" | "attribute";
export type TokenSetName = "image" | "text" | "objectWords";
export const TOKEN_SETS: readonly TokenSetName[] = Object.freeze(["image", "text", "objectWords"]);

/** One left/right question with its original and counterfactual image. */
export interface SwapSample {
  image: RgbImage;
  counterfactual: RgbImage;
  question: string;
  subject: string;
  reference: string;
  /** ground-truth answer on the original image */
  answer: string;
  /** ground-truth answer on the counterfactual image (the opposite for a mirror, the same for a recolouring) */
  counterfactualAnswer: string;
}

export interface SwapSampleOptions {
  /** canvas side in px; use the model's `meta.image_size` */
  size: number;
  /** base seed (default 42, the authors' random.seed) */
  seed?: number;
  /** object pool of the relation questions (default "train": objects the model was asked about in training) */
  split?: Split;
  /** restrict subject, reference and distractors to these objects (e.g. a small test vocabulary) */
  objects?: readonly string[];
}

async function restrictedScene(rng: Rng, size: number, objects: readonly string[]): Promise<TaskSample> {
  if (objects.length < 2) throw new Error(`swapSamples: objects needs at least 2 names, got ${objects.length}`);
  const [s, r] = pickDistinct(rng, objects, 2);
  const rest = objects.filter((o) => o !== s && o !== r);
  const distractors = pickDistinct(rng, rest, Math.min(rest.length, rng.int(4)));
  const c = await clutterScene(rng, { subject: s, reference: r, axis: "lr", distractors, size });
  return { frames: [c.image], meta: { task: "clutter-lr", question: Q.leftRight(s, r), answer: c.relation, objects: c.objects, boxes: c.boxes, sizes: c.sizes } };
}

/** n seeded cluttered left/right scenes and their mirrored or rainbow-recoloured counterparts. */
export async function swapSamples(n: number, kind: SwapKind, opts: SwapSampleOptions): Promise<SwapSample[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`swapSamples: n must be a positive integer, got ${n}`);
  if (kind !== "mirror" && kind !== "attribute") throw new Error(`swapSamples: kind must be "mirror" or "attribute", got ${JSON.stringify(kind)}`);
  const seed = opts.seed ?? 42;
  const out: SwapSample[] = [];
  for (let i = 0; i < n; i++) {
    const rng = streamRng(seed, "fig04-scenes", i);
    const s = opts.objects ? await restrictedScene(rng, opts.size, opts.objects) : await clutterLr.generate({ rng, size: opts.size, split: opts.split ?? "train" });
    const [subject, reference] = s.meta.objects;
    let counterfactual: RgbImage, cfAnswer: string;
    if (kind === "mirror") {
      const m = mirrorSample(s);
      counterfactual = m.frames[0];
      cfAnswer = m.meta.answer;
    } else {
      counterfactual = recolourRainbow(s.frames[0], randomRainbow(streamRng(seed, "fig04-rainbow", i)));
      cfAnswer = s.meta.answer;
    }
    out.push({ image: s.frames[0], counterfactual, question: s.meta.question, subject, reference, answer: s.meta.answer, counterfactualAnswer: cfAnswer });
  }
  return out;
}

export interface MirrorSwapOptions {
  /** sites as block indices (−1 = hook_embed); default every site */
  layers?: number[];
  tokenSets?: readonly TokenSetName[];
  /** the two answer words (default ["left", "right"]) */
  answers?: [string, string];
  /** passed to model.prepare (default: the bundle's chat template) */
  chat?: boolean;
  /** with chat: false, the raw prompt, "{question}" replaced by the question (must hold the image placeholder) */
  promptTemplate?: string;
  /** rows per session call (default 16) */
  batchSize?: number;
  /** called after each question with (done, total) */
  onProgress?: (done: number, total: number) => void;
}

/** Log-probs of the answer words in one run. */
export type AnswerLogprobs = Record<string, number>;

export interface SwapQuestionResult {
  index: number;
  answer: string;
  counterfactualAnswer: string;
  original: AnswerLogprobs;
  counterfactual: AnswerLogprobs;
  /** patched[tokenSet][k] = log-probs with layers[k] replaced at the token set */
  patched: Record<TokenSetName, AnswerLogprobs[]>;
  /** number of positions in each token set */
  setSizes: Record<TokenSetName, number>;
}

export interface MirrorSwapResult<K extends string = SwapKind> {
  kind: K;
  model: string;
  layers: number[];
  sites: SiteName[];
  tokenSets: TokenSetName[];
  answers: [string, string];
  questions: SwapQuestionResult[];
  /** decoder session calls made by the sweep */
  sessionCalls: number;
  /** decoder row-runs: 2 clean + patched per question */
  runs: number;
  seconds: number;
}

function lpOf(r: { logprobs: Record<string, number> }, answers: readonly string[]): AnswerLogprobs {
  const o: AnswerLogprobs = {};
  for (const a of answers) o[a] = r.logprobs[a];
  return o;
}

/** Positions of each token set in a prepared input (same for the original and the counterfactual). */
export function tokenSetPositions(input: PreparedInput, subject: string, reference: string): Record<TokenSetName, number[]> {
  const image = input.imageTokens();
  if (image.length === 0)
    throw new Error("mirror swap: the prepared input has no image tokens, so there is no image (or after-the-image " +
      "text) token set; prepare the question with its image");
  const lastImage = image[image.length - 1];
  const text = input.textTokens().filter((p) => p > lastImage);
  const objectWords = [input.positionOf(subject), input.positionOf(reference)].sort((a, b) => a - b);
  if (objectWords[0] === objectWords[1]) throw new Error(`mirror swap: subject "${subject}" and reference "${reference}" resolve to the same token`);
  return { image, text, objectWords };
}

/**
 * Runs the swap sweep on samples (use `swapSamples`). Each question costs 2 clean runs and
 * |layers| × |tokenSets| patched runs, batched per token set with prefix reuse.
 */
export async function mirrorSwap(model: Model, samples: readonly SwapSample[], kind: SwapKind, opts: MirrorSwapOptions = {}): Promise<MirrorSwapResult> {
  if (samples.length === 0) throw new Error("mirrorSwap: no samples");
  return swapSweep(model, samples.length, kind, opts, "mirrorSwap", async (i) => {
    const s = samples[i];
    const prompt = opts.chat === false && opts.promptTemplate ? opts.promptTemplate.replace("{question}", s.question) : s.question;
    const x = await model.prepare({ image: s.image, prompt, chat: opts.chat });
    const y = await model.prepare({ image: s.counterfactual, prompt, chat: opts.chat });
    return { x, y, subject: s.subject, reference: s.reference, answer: s.answer, counterfactualAnswer: s.counterfactualAnswer };
  });
}

/** One question of a swap sweep, prepared: the original input x, the counterfactual y (same length) and the answers. */
export interface PreparedSwap {
  x: PreparedInput;
  y: PreparedInput;
  subject: string;
  reference: string;
  answer: string;
  counterfactualAnswer: string;
}

/**
 * The sweep behind `mirrorSwap` (Fig 4) and `temporalMirrorSwap` (Fig 10a), for any counterfactual: `prepareAt(i)`
 * gives question i's original and counterfactual inputs; y is traced at every site on the union of the token sets,
 * then x is re-run with each (site, token set) replaced by y's values. `who` names the caller in error messages.
 */
export async function swapSweep<K extends string>(
  model: Model, n: number, kind: K, opts: MirrorSwapOptions, who: string, prepareAt: (i: number) => Promise<PreparedSwap>,
): Promise<MirrorSwapResult<K>> {
  if (!model.instrumented) throw new Error(`${who}: the model was loaded with instrumented: false; load it with the default options`);
  if (n === 0) throw new Error(`${who}: no samples`);
  const layers = opts.layers ?? [-1, ...Array.from({ length: model.numLayers }, (_, i) => i)];
  for (const L of layers)
    if (!Number.isInteger(L) || L < -1 || L >= model.numLayers) throw new Error(`${who}: layer ${L} is outside −1..${model.numLayers - 1} (−1 = hook_embed)`);
  const sites = layers.map(resid);
  const tokenSets = [...(opts.tokenSets ?? TOKEN_SETS)];
  for (const t of tokenSets) if (!TOKEN_SETS.includes(t)) throw new Error(`${who}: unknown token set "${t}"; use ${TOKEN_SETS.join(", ")}`);
  const answers = opts.answers ?? ["left", "right"];
  const batchSize = opts.batchSize ?? 16;
  const calls0 = model.sessionCalls;
  const t0 = Date.now();
  let runs = 0;
  const questions: SwapQuestionResult[] = [];
  for (let i = 0; i < n; i++) {
    const { x, y, subject, reference, answer, counterfactualAnswer } = await prepareAt(i);
    if (x.length !== y.length) throw new Error(`mirror swap: sample ${i}: original and counterfactual inputs differ in length (${x.length} vs ${y.length})`);
    const pos = tokenSetPositions(x, subject, reference);
    const union = [...new Set(tokenSets.flatMap((t) => pos[t]))].sort((a, b) => a - b);
    const rx = await model.patch(x, [], { logprobs: answers, prefixReuse: false });
    const ry = await model.trace(y, sites.map((site) => ({ site, positions: union })), { logprobs: answers, prefixReuse: false });
    runs += 2;
    const patched = {} as Record<TokenSetName, AnswerLogprobs[]>;
    const setSizes = {} as Record<TokenSetName, number>;
    for (const t of tokenSets) {
      const q = pos[t];
      setSizes[t] = q.length;
      const editSets: Edit[][] = sites.map((site) => {
        const acts = ry.get(site);
        return [replace(site, q, q.map((p) => acts.get(p)))];
      });
      const res = await model.patchMany(x, editSets, { logprobs: answers, batchSize });
      runs += res.length;
      patched[t] = res.map((r) => lpOf(r, answers));
    }
    questions.push({ index: i, answer, counterfactualAnswer, original: lpOf(rx, answers), counterfactual: lpOf(ry, answers), patched, setSizes });
    opts.onProgress?.(i + 1, n);
  }
  return { kind, model: model.name, layers, sites, tokenSets, answers, questions, sessionCalls: model.sessionCalls - calls0, runs, seconds: (Date.now() - t0) / 1000 };
}

/** Belief shift of one patched run for each answer word (authors' form) and for the GT word on probabilities. */
export function questionShifts(q: SwapQuestionResult, tokenSet: TokenSetName, k: number, answers: readonly string[]): { perWord: Record<string, number>; gt: number } {
  const p = q.patched[tokenSet]?.[k];
  if (!p) throw new Error(`questionShifts: no patched run for token set "${tokenSet}" at index ${k}`);
  const perWord: Record<string, number> = {};
  for (const a of answers) perWord[a] = beliefShift(q.original[a], p[a], q.counterfactual[a]);
  const gt = answers.includes(q.answer) ? beliefShiftGt(q.original, p, q.counterfactual, q.answer, "prob") : NaN;
  return { perWord, gt };
}

export interface SwapCurve {
  tokenSet: TokenSetName;
  /** per answer word: one summary per layer */
  perWord: Record<string, ShiftSummary[]>;
  /** the paper's GT-conditioned form (probabilities) */
  gt: ShiftSummary[];
  /** median of the per-word shifts pooled over both words, per layer (robust to tiny denominators) */
  median: number[];
}

export interface SwapSummary<K extends string = SwapKind> {
  kind: K;
  layers: number[];
  answers: [string, string];
  curves: SwapCurve[];
  /** accuracy of the original and counterfactual runs against their ground truths (argmax over the two words) */
  accuracy: { original: number; counterfactual: number };
  /** mean |lp_x − lp_y| of each word (how much the counterfactual changes the answer at all) */
  meanDenominator: Record<string, number>;
  n: number;
}

function medianOf(v: number[]): number {
  const f = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (f.length === 0) return NaN;
  const m = f.length >> 1;
  return f.length % 2 ? f[m] : (f[m - 1] + f[m]) / 2;
}

/** Mean ± std per layer and token set; policy "exclude" drops undefined shifts (counted), "zero" is the authors' NaN → 0. */
export function summariseMirrorSwap<K extends string = SwapKind>(r: MirrorSwapResult<K>, policy: "exclude" | "zero" = "exclude"): SwapSummary<K> {
  const curves: SwapCurve[] = r.tokenSets.map((t) => {
    const perWord: Record<string, ShiftSummary[]> = {};
    for (const a of r.answers) perWord[a] = [];
    const gt: ShiftSummary[] = [];
    const median: number[] = [];
    r.layers.forEach((_, k) => {
      const shifts = r.questions.map((q) => questionShifts(q, t, k, r.answers));
      for (const a of r.answers) perWord[a].push(summariseShifts(shifts.map((s) => s.perWord[a]), policy));
      gt.push(summariseShifts(shifts.map((s) => s.gt), policy));
      median.push(medianOf(shifts.flatMap((s) => r.answers.map((a) => s.perWord[a]))));
    });
    return { tokenSet: t, perWord, gt, median };
  });
  const pick = (lp: AnswerLogprobs): string => (lp[r.answers[0]] >= lp[r.answers[1]] ? r.answers[0] : r.answers[1]);
  const n = r.questions.length;
  const meanDenominator: Record<string, number> = {};
  for (const a of r.answers) meanDenominator[a] = r.questions.reduce((s, q) => s + Math.abs(q.original[a] - q.counterfactual[a]), 0) / n;
  return {
    kind: r.kind,
    layers: r.layers,
    answers: r.answers,
    curves,
    accuracy: {
      original: r.questions.filter((q) => pick(q.original) === q.answer).length / n,
      counterfactual: r.questions.filter((q) => pick(q.counterfactual) === q.counterfactualAnswer).length / n,
    },
    meanDenominator,
    n,
  };
}

export const TOKEN_SET_TITLES: Readonly<Record<TokenSetName, string>> = Object.freeze({
  image: "Swapped all image tokens",
  text: "Swapped all text tokens",
  objectWords: "Swapped object words",
});

/** Plain table of a summary: one row per (token set, layer). */
export function swapTable(s: SwapSummary<string>): { tokenSet: TokenSetName; layer: number; [col: string]: number | string }[] {
  const rows: { tokenSet: TokenSetName; layer: number; [col: string]: number | string }[] = [];
  for (const c of s.curves)
    s.layers.forEach((L, k) => {
      const row: { tokenSet: TokenSetName; layer: number; [col: string]: number | string } = { tokenSet: c.tokenSet, layer: L };
      for (const a of s.answers) {
        row[`${a}_mean`] = c.perWord[a][k].mean;
        row[`${a}_std`] = c.perWord[a][k].std;
        row[`${a}_undef`] = c.perWord[a][k].undefinedCount;
      }
      row.gt_mean = c.gt[k].mean;
      row.median = c.median[k];
      rows.push(row);
    });
  return rows;
}

export interface PatternCheck {
  name: string;
  pass: boolean;
  detail: string;
}

const avgWords = (c: SwapCurve, answers: readonly string[], k: number): number => {
  const v = answers.map((a) => c.perWord[a][k].mean).filter(Number.isFinite);
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
};

function spearmanWithIndex(v: number[]): number {
  const pts = v.map((y, i) => [i, y] as const).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 3) return NaN;
  const rank = (a: number[]): number[] => {
    const idx = a.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(a.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const rx = rank(pts.map((p) => p[0])), ry = rank(pts.map((p) => p[1]));
  const n = rx.length, mx = rx.reduce((a, b) => a + b, 0) / n, my = ry.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) (sxy += (rx[i] - mx) * (ry[i] - my)), (sxx += (rx[i] - mx) ** 2), (syy += (ry[i] - my) ** 2);
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}


/** Wording of the pattern checks for other counterfactuals (Fig 10a: "video (frame) tokens", "reversed clips"). */
export interface SwapPatternLabels {
  /** the visual token set (default "image tokens") */
  image?: string;
  /** the counterfactual inputs, plural (default "mirrors") */
  counterfactual?: string;
}

/**
 * Checks the paper's Fig 4 pattern on the decoder blocks (layers ≥ 0; hook_embed is excluded because its image
 * shift is 1 by construction): image-token shift strong at block 0 and decaying (Spearman with depth < −0.5),
 * text shift growing with depth (Spearman > 0.5), object-word shift peaking (≥ 0.3) strictly inside the stack with
 * both ends below half the peak, and (with an attribute summary) attribute-swap medians within ±0.2 at every block
 * but the last (where the text set, holding the last position, gives 1 by construction).
 * Shifts are the mean over questions of the per-word shift, averaged over the two answer words.
 */
export function describeSwapPattern(mirror: SwapSummary<string>, attribute?: SwapSummary<string>, labels: SwapPatternLabels = {}): PatternCheck[] {
  const imageName = labels.image ?? "image tokens", cfName = labels.counterfactual ?? "mirrors";
  const ks = mirror.layers.map((L, k) => [L, k] as const).filter(([L]) => L >= 0);
  const curve = (t: TokenSetName) => mirror.curves.find((c) => c.tokenSet === t);
  const series = (t: TokenSetName) => {
    const c = curve(t);
    return c ? ks.map(([, k]) => avgWords(c, mirror.answers, k)) : [];
  };
  const out: PatternCheck[] = [];
  // Without a model that answers the question, the ratios below divide noise by noise: check that first.
  const dens = mirror.answers.map((a) => mirror.meanDenominator[a]);
  out.push({
    name: "model solves the task (prerequisite: otherwise the shifts are ratios of noise)",
    pass: mirror.accuracy.original >= 0.75 && mirror.accuracy.counterfactual >= 0.75,
    detail: `accuracy ${fmt(mirror.accuracy.original)} on the originals, ${fmt(mirror.accuracy.counterfactual)} on the ${cfName} (chance 0.5); mean |lp_x − lp_y| ${dens.map((x) => fmt(x)).join(" / ")}`,
  });
  const img = series("image"), txt = series("text"), obj = series("objectWords");
  const blocks = ks.map(([L]) => L);
  if (img.length) {
    const rho = spearmanWithIndex(img);
    out.push({ name: `${imageName} strong early, decaying`, pass: img[0] >= 0.5 && rho < -0.5, detail: `shift at block ${blocks[0]} = ${fmt(img[0])}, at block ${blocks[blocks.length - 1]} = ${fmt(img[img.length - 1])}; Spearman with depth ${fmt(rho)}` });
  }
  if (txt.length) {
    const rho = spearmanWithIndex(txt);
    out.push({ name: "text tokens growing with depth", pass: rho > 0.5, detail: `shift at block ${blocks[0]} = ${fmt(txt[0])}, at block ${blocks[blocks.length - 1]} = ${fmt(txt[txt.length - 1])}; Spearman with depth ${fmt(rho)}` });
    if (img.length) {
      const cross = txt.findIndex((t, i) => t >= img[i]);
      out.push({ name: `text overtakes ${imageName.replace(/ tokens$/, "")} (convergence)`, pass: cross > 0, detail: cross >= 0 ? `first block with text ≥ ${imageName.replace(/ tokens$/, "")}: ${blocks[cross]}` : `text never reaches the ${imageName.replace(/ tokens$/, "")}-token shift` });
    }
  }
  if (obj.length) {
    let best = 0;
    obj.forEach((v, i) => { if (Number.isFinite(v) && (!Number.isFinite(obj[best]) || v > obj[best])) best = i; });
    const peak = obj[best], first = obj[0], last = obj[obj.length - 1];
    const band = blocks.filter((_, i) => obj[i] >= peak / 2);
    out.push({
      name: "object words only in a middle band",
      pass: peak >= 0.3 && best > 0 && best < obj.length - 1 && first < peak / 2 && last < peak / 2,
      detail: `peak ${fmt(peak)} at block ${blocks[best]}; ≥ half the peak at blocks ${band.join(", ") || "none"}; first ${fmt(first)}, last ${fmt(last)}`,
    });
  }
  if (attribute) {
    let worst = 0, where = "";
    for (const c of attribute.curves)
      attribute.layers.forEach((L, k) => {
        // hook_embed (image set = the counterfactual run) and the last block (text set holds the last position)
        // give 1 by construction for any counterfactual
        if (L < 0 || L === Math.max(...attribute.layers)) return;
        if (Number.isFinite(c.median[k]) && Math.abs(c.median[k]) > Math.abs(worst)) (worst = c.median[k]), (where = `${c.tokenSet} at block ${L}`);
      });
    const den = attribute.answers.map((a) => attribute.meanDenominator[a]);
    const mden = mirror.answers.map((a) => mirror.meanDenominator[a]);
    out.push({
      name: "attribute swap ≈ 0",
      pass: Math.abs(worst) <= 0.2,
      detail: `largest |median shift| ${fmt(worst)}${where ? ` (${where})` : ""}; mean |lp_x − lp_y| ${den.map((x) => fmt(x)).join(" / ")} vs ${mden.map((x) => fmt(x)).join(" / ")} for the mirror`,
    });
  }
  return out;
}
