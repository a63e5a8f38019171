// Fig 8: diagnosing failures with spatial IDs — (a) ground-truth deviation: do the spatial IDs measured at the object
// words of wrongly answered questions under-express the asked relation, relative to the IDs the objects' true
// positions should give? (b) image masking: are failures more sensitive than successes to blurring the subject
// itself, compared with blurring same-size regions elsewhere (the paper's "vision encoder bottleneck" for LLaVA)?
//
// 8a, per question (subject a, reference b, relation r ∈ left/right/above/below), per block L (blocks.L.hook_resid_post):
//   measured ID e_o = x_L[o] (image run) − x_L[o] (text-only run of the same prompt), o ∈ {a, b}, at the first
//     occurrence of the word's last sub-token;
//   GT ID g_o = bilinear interpolation of the universal IDs U_L at the centre of o's box, in the model's image frame;
//   both projected on the Gram–Schmidt plane of (h_L, v_L) (x grows rightward, y downward);
//   margin relative to GT (analysis/margins): right (x_a − x_b) − (gx_a − gx_b), left (x_b − x_a) − (gx_b − gx_a),
//     below (y_a − y_b) − (gy_a − gy_b), above (y_b − y_a) − (gy_b − gy_a); positive = the relation is expressed
//     more strongly than its ground truth;
//   verdict: argmax of the first-token log-probs of the task's two answer words on the image run.
//   Margins of correct vs wrong answers: Mann–Whitney U (x = correct, y = wrong; two-sided, greater, less).
//   Passes: 1 image run per question (all blocks traced at both words) + 1 text-only run per distinct prompt.
// 8b, per question: the original image, the subject box blurred, and K same-size boxes at random positions that do not
//   intersect the subject's or the reference's box, each blurred (Gaussian, data/blur); one forward each (first-token
//   log-probs, batched with patchBatch). diff = min over the K random blurs of lp(correct) − lp(correct | subject
//   blurred): positive = blurring the subject lowers the correct answer more than any random blur. Split by the 8a
//   verdict, Mann–Whitney U (x = wrong, y = correct).
//
// Deviations from the authors' code (reference-code-spec §7, §11) and why:
//  1. GT frame: the box centre is mapped through the bundle's preprocessing (resize, then centre crop) into the frame
//     the vision encoder sees (modelFrameCentre); the authors normalise by the full COCO image although LLaVA's
//     processor centre-crops it (§7.1 note, §11.9). Centres cropped away are clamped to the frame edge and counted.
//     The toy bundles resize a square image without a crop, so there the two frames coincide.
//  2. GT interpolation: grid index i sits at its cell centre (i + 0.5)/m ("centred", analysis/interpolation); the
//     authors' grid is shifted half a cell and silently drops corners at the right/bottom border (§11.9). The
//     authors' variant is an option (`interpolation: "authors"`).
//  3. Universal IDs of one square size (the toy grid tiles have one size: a full cell) instead of the size-224 keys of
//     a four-size average; axes without the zero x1 = x2 terms (a scale change only, §11.8).
//  4. Verdict: log-prob argmax of the two answer words at the first answer token, so no question is skipped; the
//     authors parse a ≤ 250-token generation (GT word present and other absent) and skip the rest.
//  5. Prompt: the bundle's chat template with the question only (no " Answer left or right only." suffix: the toy
//     model answers in one word); the same prompt in 8a and 8b (the authors use a second wording and put the text
//     before the image in 8b), so the 8b split uses exactly the 8a verdicts.
//  6. Layer: every block is run; the default plotted block is chosen from the spatial-ID quality
//     (diagnosisLayer: among the middle blocks, the one whose universal IDs form an ordered grid with the largest
//     share of variance in the (h, v) plane) instead of the hand-picked layers 12 (LLaVA) / 14 (Llama).
//  7. Text-only run: the same chat-templated prompt without the image part (the toy's template renders it as
//     "USER: <question> ASSISTANT:"), as the authors' extract_embeds does with image=None.
//  8. Random boxes: seeded per (seed, task, question index) with data/seeds (the authors seed with Python's salted
//     hash(), not reproducible across processes, §11.10); they are placed inside the region the model sees (the
//     crop), and the statistic takes the minimum over all K random blurs (the authors use 4 of their 10, image
//     indices 3–6; that variant is reported as `diffAuthors`). Duplicates when fewer than K positions fit are
//     dropped (the authors repeat them; the minimum is the same).
//  9. Blur: sharp's Gaussian blur of the box crop with sigma = 20/640 of the image's longer side (PIL radius 20 on
//     ~640-px COCO images) → 2 px on the 64-px toy images; an option.
// 10. Subject box: the scene generator's box of the subject (ground truth); the authors pick, among all COCO
//     instances of both categories, the pair that best satisfies the relation.
// 11. Data: seeded cluttered scenes from src/data (clutter-lr + clutter-ab, held-out objects by default) instead of
//     the 440 What'sUp COCO rows with COCO annotations.
// 12. Reported in addition: the per-block sweep, the measured separation alone (without the GT term, a scale-free
//     check: the GT IDs come from full-cell objects on black grid tiles, so even correct answers' margins need not
//     centre on 0), the group sizes, the authors' 4-blur statistic next to the K-blur one, and a stronger-blur run.
import type { Model } from "../engine/model";
import type { PreparedInput } from "../engine/prepared";
import type { PreprocessorConfig } from "../engine/bundle";
import type { RunResult } from "../engine/results";
import { resid } from "../engine/sites";
import { gramSchmidtPlane } from "../analysis/projection";
import { interpolateGridId, type InterpolationVariant } from "../analysis/interpolation";
import { marginRelativeToGt, type Relation } from "../analysis/margins";
import { mannWhitneyU, type MannWhitneyResult } from "../analysis/mannWhitney";
import { mean, median } from "../analysis/stats";
import { spatialAxes, type SpatialIdGrid } from "../analysis/spatialIds";
import { blurBox, randomBoxesLike } from "../data/blur";
import { clutterScene } from "../data/clutter";
import type { Box, RgbImage } from "../data/image";
import { intersectionArea } from "../data/placement";
import type { Split } from "../data/pools";
import { OPPOSITE, Q } from "../data/questions";
import { pickDistinct, streamRng } from "../data/seeds";
import { getTask } from "../data/tasks";
import { projectGrids } from "./spatialIds";
import { idGridAt, type IdGrids } from "./steering";
import { fmt, fmtP } from "./format";

const fmt3 = (x: number): string => fmt(x, 3);

// ---------------------------------------------------------------------------------------------------------------
// Questions with boxes

export type FailureTask = "clutter-lr" | "clutter-ab";
export const FAILURE_TASKS: readonly FailureTask[] = ["clutter-lr", "clutter-ab"];

/** One question with its image, ground truth and the two asked objects' boxes (pixels of `image`). */
export interface FailureSample {
  task: FailureTask;
  index: number;
  image: RgbImage;
  question: string;
  subject: string;
  reference: string;
  answer: Relation;
  other: Relation;
  /** the task's two answer words in fixed order */
  answers: [Relation, Relation];
  subjectBox: Box;
  referenceBox: Box;
}

export interface FailureSampleOptions {
  /** canvas side (use model.meta.image_size) */
  size: number;
  /** base seed (default 42) */
  seed?: number;
  /** object pool (default "heldout": at least one asked object was never asked about in training, as a test set) */
  split?: Split;
  /** restrict asked objects and distractors to these (e.g. a bundle with a small vocabulary) */
  objects?: readonly string[];
}

const ANSWERS: Record<FailureTask, [Relation, Relation]> = { "clutter-lr": ["left", "right"], "clutter-ab": ["above", "below"] };

/** n seeded cluttered scenes of one task with the subject's and reference's boxes (stream "fig08", task, i). */
export async function failureSamples(task: FailureTask, n: number, opts: FailureSampleOptions): Promise<FailureSample[]> {
  const answers = ANSWERS[task];
  if (!answers) throw new Error(`failureSamples: task must be one of ${FAILURE_TASKS.join(", ")}, got ${JSON.stringify(task)}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`failureSamples: n must be a positive integer, got ${n}`);
  const seed = opts.seed ?? 42;
  const out: FailureSample[] = [];
  for (let i = 0; i < n; i++) {
    const rng = streamRng(seed, "fig08", task, i);
    let image: RgbImage, s: string, r: string, answer: string, boxes: Box[];
    if (opts.objects) {
      if (opts.objects.length < 2) throw new Error(`failureSamples: need at least 2 objects, got ${opts.objects.length}`);
      [s, r] = pickDistinct(rng, opts.objects, 2);
      const rest = opts.objects.filter((o) => o !== s && o !== r);
      const distractors = pickDistinct(rng, rest, Math.min(rest.length, rng.int(4)));
      const c = await clutterScene(rng, { subject: s, reference: r, axis: task === "clutter-lr" ? "lr" : "ab", distractors, size: opts.size });
      ({ image, relation: answer, boxes } = c);
    } else {
      const t = await getTask(task).generate({ rng, size: opts.size, split: opts.split ?? "heldout" });
      image = t.frames[0];
      [s, r] = t.meta.objects;
      answer = t.meta.answer;
      boxes = t.meta.boxes;
    }
    out.push({
      task, index: i, image, question: task === "clutter-lr" ? Q.leftRight(s, r) : Q.aboveBelow(s, r), subject: s, reference: r,
      answer: answer as Relation, other: OPPOSITE[answer] as Relation, answers: [...answers] as [Relation, Relation],
      subjectBox: [...boxes[0]] as Box, referenceBox: [...boxes[1]] as Box,
    });
  }
  return out;
}

/** The answer word with the larger first-token log-prob (ties → the task's first word). */
export function predictedAnswer(logprobs: Record<string, number>, answers: readonly [Relation, Relation]): Relation {
  const [a0, a1] = answers;
  if (!Number.isFinite(logprobs[a0]) || !Number.isFinite(logprobs[a1])) throw new Error(`predictedAnswer: no finite log-probs for ${a0}/${a1}`);
  return logprobs[a0] >= logprobs[a1] ? a0 : a1;
}

// ---------------------------------------------------------------------------------------------------------------
// The model's image frame

/** Where an image's pixels land after the bundle's preprocessing: the resized size and the crop window in it. */
export interface ModelFrame {
  /** size after resizing (the input size when the config does not resize) */
  resized: [number, number];
  /** crop window [left, top, width, height] in the resized image (the whole image without a centre crop) */
  crop: [number, number, number, number];
}

/** The resize + centre-crop geometry of an HF CLIP-style image processor (the engine's preprocessImage). */
export function modelFrame(cfg: PreprocessorConfig, width: number, height: number, fallbackSize: number): ModelFrame {
  if (!(width > 0 && height > 0)) throw new Error(`modelFrame: image size must be positive, got ${width}x${height}`);
  let rw = width, rh = height;
  if (cfg.do_resize !== false) {
    const size = cfg.size ?? { height: fallbackSize, width: fallbackSize };
    if (size.shortest_edge !== undefined) {
      const s = size.shortest_edge, short = Math.min(width, height), long = Math.max(width, height);
      const newLong = Math.floor((s * long) / short);
      [rw, rh] = width <= height ? [s, newLong] : [newLong, s];
    } else if (size.height !== undefined && size.width !== undefined) [rw, rh] = [size.width, size.height];
  }
  let crop: [number, number, number, number] = [0, 0, rw, rh];
  if (cfg.do_center_crop) {
    const c = cfg.crop_size;
    const ch = typeof c === "number" ? c : c?.height ?? fallbackSize;
    const cw = typeof c === "number" ? c : c?.width ?? fallbackSize;
    if (ch > rh || cw > rw) throw new Error(`modelFrame: image ${rw}x${rh} is smaller than the crop ${cw}x${ch} after resizing`);
    crop = [Math.floor((rw - cw) / 2), Math.floor((rh - ch) / 2), cw, ch];
  }
  return { resized: [rw, rh], crop };
}

/**
 * A box's centre as normalised coordinates (nx, ny) ∈ [0, 1]² of the frame the vision encoder sees (after resize and
 * centre crop); `outside` when the centre was cropped away (then it is clamped to the frame's edge).
 */
export function modelFrameCentre(box: Box, width: number, height: number, cfg: PreprocessorConfig, fallbackSize: number): { nx: number; ny: number; outside: boolean } {
  const f = modelFrame(cfg, width, height, fallbackSize);
  const cx = ((box[0] + box[2]) / 2) * (f.resized[0] / width) - f.crop[0];
  const cy = ((box[1] + box[3]) / 2) * (f.resized[1] / height) - f.crop[1];
  const nx = cx / f.crop[2], ny = cy / f.crop[3];
  const outside = !(nx >= 0 && nx <= 1 && ny >= 0 && ny <= 1);
  return { nx: Math.min(1, Math.max(0, nx)), ny: Math.min(1, Math.max(0, ny)), outside };
}

/** The part of the original image that survives the centre crop, as a pixel box of the original image. */
export function visibleRegion(width: number, height: number, cfg: PreprocessorConfig, fallbackSize: number): Box {
  const f = modelFrame(cfg, width, height, fallbackSize);
  const sx = width / f.resized[0], sy = height / f.resized[1];
  const x0 = Math.max(0, Math.ceil(f.crop[0] * sx - 1e-9)), y0 = Math.max(0, Math.ceil(f.crop[1] * sy - 1e-9));
  const x1 = Math.min(width, Math.floor((f.crop[0] + f.crop[2]) * sx + 1e-9)), y1 = Math.min(height, Math.floor((f.crop[1] + f.crop[3]) * sy + 1e-9));
  return [x0, y0, x1, y1];
}

// ---------------------------------------------------------------------------------------------------------------
// 8a: ground-truth deviation

/** A point of the (h, v) plane: x along h (right), y along v made orthogonal to h (down). */
export type PlaneXY = [number, number];

export interface LayerPlane {
  u: Float64Array;
  v: Float64Array;
  grid: SpatialIdGrid;
}

/** Gram–Schmidt plane of a site's axes (from the artefact when present, else spatialAxes of the grid). */
export function layerPlane(ids: IdGrids & { axes?: Record<string, { h: Float64Array; v: Float64Array }> }, layer: number): LayerPlane {
  const grid = idGridAt(ids, layer);
  const axes = ids.axes?.[resid(layer)] ?? spatialAxes(grid);
  return { ...gramSchmidtPlane(axes.h, axes.v), grid };
}

const proj = (p: LayerPlane, e: ArrayLike<number>): PlaneXY => {
  let x = 0, y = 0;
  for (let j = 0; j < e.length; j++) {
    x += e[j] * p.u[j];
    y += e[j] * p.v[j];
  }
  return [x, y];
};

export interface QuestionGeometry {
  measured: { subject: PlaneXY; reference: PlaneXY };
  gt: { subject: PlaneXY; reference: PlaneXY };
  margin: number;
  /** the measured separation alone in the relation's direction (positive = the measured IDs express the relation) */
  separation: number;
}

/**
 * One question at one layer: measured IDs (image − text-only vectors) and the GT IDs interpolated at the two
 * normalised centres, projected on the plane; margin relative to GT for the relation.
 */
export function questionGeometry(
  plane: LayerPlane, relation: Relation,
  measured: { subject: ArrayLike<number>; reference: ArrayLike<number> },
  centres: { subject: [number, number]; reference: [number, number] },
  variant: InterpolationVariant = "centred",
): QuestionGeometry {
  const d = plane.grid.dim;
  if (measured.subject.length !== d || measured.reference.length !== d) throw new Error(`questionGeometry: measured IDs have ${measured.subject.length}/${measured.reference.length} dims, the IDs ${d}`);
  const m = { subject: proj(plane, measured.subject), reference: proj(plane, measured.reference) };
  const g = {
    subject: proj(plane, interpolateGridId(plane.grid, centres.subject[0], centres.subject[1], variant).vector),
    reference: proj(plane, interpolateGridId(plane.grid, centres.reference[0], centres.reference[1], variant).vector),
  };
  const pt = (p: PlaneXY) => ({ x: p[0], y: p[1] });
  const margin = marginRelativeToGt(relation, { subject: pt(m.subject), object: pt(m.reference) }, { subject: pt(g.subject), object: pt(g.reference) });
  const zero = { subject: { x: 0, y: 0 }, object: { x: 0, y: 0 } };
  const separation = marginRelativeToGt(relation, { subject: pt(m.subject), object: pt(m.reference) }, zero);
  return { measured: m, gt: g, margin, separation };
}

export interface DeviationOptions {
  /** blocks to run (default every block) */
  layers?: number[];
  /** GT interpolation (default "centred"; "authors" = their half-cell-shifted grid) */
  interpolation?: InterpolationVariant;
  /** frame of the GT centre: "model" (default: after resize + centre crop) or "image" (authors: the full image) */
  frame?: "model" | "image";
  chat?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DeviationQuestion {
  task: FailureTask;
  index: number;
  question: string;
  subject: string;
  reference: string;
  answer: Relation;
  /** the answer word with the larger first-token log-prob */
  predicted: Relation;
  correct: boolean;
  logprobs: Record<string, number>;
  /** normalised box centres used for the GT IDs */
  centres: { subject: [number, number]; reference: [number, number] };
  /** a centre lay outside the model's frame (cropped away) and was clamped */
  outside: boolean;
  /** per entry of `layers` */
  perLayer: QuestionGeometry[];
}

export interface DeviationResult {
  model: string;
  layers: number[];
  interpolation: InterpolationVariant;
  frame: "model" | "image";
  questions: DeviationQuestion[];
  /** decoder runs: image runs + distinct text-only prompts */
  runs: number;
  sessionCalls: number;
  seconds: number;
}

/** Fig 8a on the given questions (see the header for the quantities). */
export async function groundTruthDeviation(
  model: Model, samples: readonly FailureSample[], ids: IdGrids & { axes?: Record<string, { h: Float64Array; v: Float64Array }> }, opts: DeviationOptions = {},
): Promise<DeviationResult> {
  if (!model.instrumented) throw new Error("groundTruthDeviation: the model was loaded with instrumented: false");
  if (samples.length === 0) throw new Error("groundTruthDeviation: no questions");
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  if (layers.length === 0) throw new Error("groundTruthDeviation: no layers");
  for (const L of layers) if (!Number.isInteger(L) || L < 0 || L >= model.numLayers) throw new Error(`groundTruthDeviation: layer ${L} is outside 0..${model.numLayers - 1}`);
  const planes = layers.map((L) => layerPlane(ids, L));
  if (planes[0].grid.dim !== model.width) throw new Error(`groundTruthDeviation: IDs have width ${planes[0].grid.dim}, the model's residual stream ${model.width}`);
  const variant = opts.interpolation ?? "centred";
  const frame = opts.frame ?? "model";
  const sites = layers.map(resid);
  const words = ["left", "right", "above", "below"];
  const t0 = Date.now(), calls0 = model.sessionCalls;
  const batch = opts.batchSize ?? 32;
  // text-only runs, one per distinct prompt
  const textVec = new Map<string, Float32Array[][]>(); // prompt → [site][subject, reference]
  // first occurrence of each word's last sub-token (positionOf throws naming the prompt tokens when absent)
  const pair = (inp: PreparedInput, s: string, r: string): number[] => [inp.positionOf(s), inp.positionOf(r)];
  const questions: DeviationQuestion[] = [];
  let runs = 0;
  for (let start = 0; start < samples.length; start += batch) {
    const chunk = samples.slice(start, start + batch);
    const imgItems: { input: PreparedInput }[] = [];
    const txtNeeded: { prompt: string; input: PreparedInput; s: string; r: string }[] = [];
    for (const s of chunk) {
      imgItems.push({ input: await model.prepare({ image: s.image, prompt: s.question, chat: opts.chat }) });
      if (!textVec.has(s.question) && !txtNeeded.some((t) => t.prompt === s.question))
        txtNeeded.push({ prompt: s.question, input: await model.prepare({ prompt: s.question, chat: opts.chat }), s: s.subject, r: s.reference });
    }
    const imgPos = chunk.map((s, k) => pair(imgItems[k].input, s.subject, s.reference));
    // patchBatch traces the same positions for every row, so rows are grouped by their (subject, reference) positions
    const groups = new Map<string, number[]>();
    imgPos.forEach((p, k) => groups.set(p.join(","), [...(groups.get(p.join(",")) ?? []), k]));
    const imgRes: RunResult[] = new Array(chunk.length);
    for (const [, ks] of groups) {
      const res = await model.patchBatch(ks.map((k) => imgItems[k]), { trace: sites.map((site) => ({ site, positions: imgPos[ks[0]] })), logprobs: words, batchSize: batch });
      ks.forEach((k, j) => (imgRes[k] = res[j]));
      runs += ks.length;
    }
    for (const t of txtNeeded) {
      const pos = pair(t.input, t.s, t.r);
      const r = await model.trace(t.input, sites.map((site) => ({ site, positions: pos })), { prefixReuse: false });
      textVec.set(t.prompt, sites.map((site) => [Float32Array.from(r.get(site).row(0)), Float32Array.from(r.get(site).row(1))]));
      runs++;
    }
    chunk.forEach((s, k) => {
      const r = imgRes[k];
      const [a0, a1] = s.answers;
      const predicted = predictedAnswer(r.logprobs, s.answers);
      const centre = (b: Box) =>
        frame === "model" ? modelFrameCentre(b, s.image.width, s.image.height, model.bundle.preprocessor, model.meta.image_size) : { nx: (b[0] + b[2]) / 2 / s.image.width, ny: (b[1] + b[3]) / 2 / s.image.height, outside: false };
      const cs = centre(s.subjectBox), cr = centre(s.referenceBox);
      const centres = { subject: [cs.nx, cs.ny] as [number, number], reference: [cr.nx, cr.ny] as [number, number] };
      const txt = textVec.get(s.question)!;
      const perLayer = sites.map((site, l) => {
        const a = r.get(site);
        const diff = (img: ArrayLike<number>, base: Float32Array) => Float64Array.from(base, (b, j) => img[j] - b);
        return questionGeometry(planes[l], s.answer, { subject: diff(a.row(0), txt[l][0]), reference: diff(a.row(1), txt[l][1]) }, centres, variant);
      });
      questions.push({
        task: s.task, index: s.index, question: s.question, subject: s.subject, reference: s.reference, answer: s.answer, predicted,
        correct: predicted === s.answer, logprobs: { [a0]: r.logprobs[a0], [a1]: r.logprobs[a1] }, centres, outside: cs.outside || cr.outside, perLayer,
      });
    });
    model.clearCaches();
    opts.onProgress?.(Math.min(samples.length, start + batch), samples.length);
  }
  return { model: model.name, layers: [...layers], interpolation: variant, frame, questions, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000 };
}

/** The three Mann–Whitney alternatives of x vs y (NaN p-values when a group is empty or all values tie). */
export interface UTests {
  twoSided: number;
  greater: number;
  less: number;
  /** U of x and the common-language effect size U/(n_x n_y) = P(x > y) + ½P(x = y) */
  u: number;
  effectSize: number;
}

export function uTests(x: readonly number[], y: readonly number[]): UTests {
  const nan: UTests = { twoSided: NaN, greater: NaN, less: NaN, u: NaN, effectSize: NaN };
  if (x.length === 0 || y.length === 0) return nan;
  const run = (alternative: "two-sided" | "greater" | "less"): MannWhitneyResult | undefined => {
    try {
      return mannWhitneyU(x, y, { alternative });
    } catch {
      return undefined; // every value tied
    }
  };
  const t = run("two-sided"), g = run("greater"), l = run("less");
  if (!t || !g || !l) return nan;
  return { twoSided: t.p, greater: g.p, less: l.p, u: t.u, effectSize: t.effectSize };
}

export interface GroupStats {
  n: number;
  mean: number;
  median: number;
  /** share of values < 0 */
  negative: number;
}

function groupStats(v: readonly number[]): GroupStats {
  if (v.length === 0) return { n: 0, mean: NaN, median: NaN, negative: NaN };
  return { n: v.length, mean: mean(v), median: median(v), negative: v.filter((x) => x < 0).length / v.length };
}

export interface DeviationSummary {
  layer: number;
  /** which questions: "all" or a task */
  subset: string;
  margins: { correct: number[]; wrong: number[] };
  correct: GroupStats;
  wrong: GroupStats;
  /** Mann–Whitney of the margins, x = correct, y = wrong ("greater": correct answers have larger margins) */
  test: UTests;
  /** the measured separation alone (no GT term): share of questions whose measured IDs point the relation's way */
  separation: { correctPositive: number; wrongPositive: number; test: UTests };
  /** questions whose box centre was cropped away */
  outside: number;
}

/** Fig 8a numbers at one block (over all questions, or one task). */
export function summariseDeviation(r: DeviationResult, layer: number, subset: "all" | FailureTask = "all"): DeviationSummary {
  const l = r.layers.indexOf(layer);
  if (l < 0) throw new Error(`summariseDeviation: block ${layer} was not run; blocks: ${r.layers.join(", ")}`);
  const qs = r.questions.filter((q) => subset === "all" || q.task === subset);
  const pick = (ok: boolean, f: (g: QuestionGeometry) => number) => qs.filter((q) => q.correct === ok).map((q) => f(q.perLayer[l]));
  const mc = pick(true, (g) => g.margin), mw = pick(false, (g) => g.margin);
  const sc = pick(true, (g) => g.separation), sw = pick(false, (g) => g.separation);
  const pos = (v: number[]) => (v.length ? v.filter((x) => x > 0).length / v.length : NaN);
  return {
    layer, subset, margins: { correct: mc, wrong: mw }, correct: groupStats(mc), wrong: groupStats(mw), test: uTests(mc, mw),
    separation: { correctPositive: pos(sc), wrongPositive: pos(sw), test: uTests(sc, sw) },
    outside: qs.filter((q) => q.outside).length,
  };
}

/** The paper's Fig 8a claim at one block: failures have negative margins relative to GT, below those of correct answers. */
export function describeDeviationClaim(s: DeviationSummary, alpha = 0.05): { name: string; pass: boolean; detail: string }[] {
  return [
    {
      name: "wrong answers have negative margins relative to GT (median < 0)",
      pass: s.wrong.n > 0 && s.wrong.median < 0,
      detail: `block ${s.layer}: wrong n = ${s.wrong.n}, median ${fmt(s.wrong.median)}, ${fmt(100 * s.wrong.negative)}% < 0 (correct: n = ${s.correct.n}, median ${fmt(s.correct.median)}, ${fmt(100 * s.correct.negative)}% < 0)`,
    },
    {
      name: `wrong answers' margins lie below the correct answers' (Mann–Whitney, correct > wrong, p < ${alpha})`,
      pass: s.test.greater < alpha,
      detail: `U = ${fmt(s.test.u)}, P(correct > wrong) = ${fmt(s.test.effectSize)}, p greater ${fmtP(s.test.greater)}, two-sided ${fmtP(s.test.twoSided)}, less ${fmtP(s.test.less)}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Which block: spatial-ID quality

export interface LayerQuality {
  layer: number;
  /** share of the 16 IDs' variance in the (h, v) plane */
  explained: number;
  /** min(Spearman of projected x with the column, of y with the row) */
  order: number;
  middle: boolean;
}

/**
 * The default Fig 8a block: among the middle blocks (relative depth L/(n − 1) in [0.25, 0.75]; the authors' layers
 * 12 of 32 and 14 of 40 are such blocks), the one whose universal IDs form an ordered grid (both Spearman ≥ 0.9) with
 * the largest share of variance in the (h, v) plane, i.e. where the IDs are most purely the 2-D linear code the GT
 * interpolation assumes. Falls back to the best-ordered middle block when none is ordered.
 */
export function diagnosisLayer(ids: IdGrids, numLayers: number): { layer: number; table: LayerQuality[]; reason: string } {
  const layers = Array.from({ length: numLayers }, (_, i) => i).filter((L) => ids.grids[resid(L)]);
  if (layers.length === 0) throw new Error("diagnosisLayer: the IDs hold no block sites");
  const pr = projectGrids(layers.map((L) => idGridAt(ids, L)), layers);
  const table: LayerQuality[] = pr.map((p) => {
    const rel = numLayers > 1 ? p.layer / (numLayers - 1) : 0.5;
    return { layer: p.layer, explained: p.explained, order: Math.min(p.spearmanX, p.spearmanY), middle: rel >= 0.25 - 1e-9 && rel <= 0.75 + 1e-9 };
  });
  const middle = table.filter((t) => t.middle && Number.isFinite(t.explained));
  const pool = middle.length > 0 ? middle : table.filter((t) => Number.isFinite(t.explained));
  if (pool.length === 0) throw new Error("diagnosisLayer: every block's IDs are degenerate");
  const ordered = pool.filter((t) => t.order >= 0.9);
  const f = (x: number) => x.toFixed(3);
  if (ordered.length > 0) {
    const best = ordered.reduce((a, b) => (b.explained > a.explained + 1e-12 ? b : a));
    return { layer: best.layer, table, reason: `block ${best.layer}: of the middle blocks ${pool.map((t) => t.layer).join(", ")} with an ordered ID grid (Spearman ≥ 0.9), the largest (h, v) plane share of the ID variance (${f(best.explained)})` };
  }
  const best = pool.reduce((a, b) => (b.order > a.order + 1e-12 ? b : a));
  return { layer: best.layer, table, reason: `block ${best.layer}: no middle block has an ordered ID grid; the best ordered one (min Spearman ${f(best.order)})` };
}

// ---------------------------------------------------------------------------------------------------------------
// 8b: image masking

export interface MaskingOptions {
  /** random same-size boxes per question (default 10, as the authors) */
  k?: number;
  /** Gaussian sigma in px (default 20/640 of the image's longer side, the authors' radius 20 on COCO) */
  sigma?: number;
  /** seed of the random boxes (default 42); stream ("fig08b", seed, task, index) */
  seed?: number;
  chat?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface MaskingQuestion {
  task: FailureTask;
  index: number;
  answer: Relation;
  /** verdict on the original image (log-prob argmax; the same prompt as 8a, so the 8a verdict) */
  correct: boolean;
  /** the distinct random boxes that were blurred */
  boxes: Box[];
  /** lp of the correct / the other answer word: [original, subject blurred, random 1..K'] */
  lpCorrect: number[];
  lpOther: number[];
  /** min over random blurs of lp(correct) − lp(correct | subject blurred); NaN when no random box fits */
  diff: number;
  /** the authors' variant: min over random blurs 3..6 (1-based image indices 3–6 of their 12) */
  diffAuthors: number;
}

export interface MaskingResult {
  model: string;
  k: number;
  sigma: number;
  seed: number;
  questions: MaskingQuestion[];
  /** questions without any fitting random box (excluded from the statistic) */
  noRoom: number;
  runs: number;
  sessionCalls: number;
  seconds: number;
}

/** The authors' blur strength scaled to the image: PIL radius 20 on ~640-px COCO images. */
export function defaultBlurSigma(width: number, height: number): number {
  return (20 / 640) * Math.max(width, height);
}

/**
 * K boxes of the subject box's size inside the visible region, intersecting neither asked object (seeded per
 * question), distinct.
 */
export function maskingBoxes(s: FailureSample, k: number, seed: number, region: Box = [0, 0, s.image.width, s.image.height]): Box[] {
  const rng = streamRng(seed, "fig08b", s.task, s.index);
  const [rx, ry] = region;
  const shift = (b: Box, dx: number, dy: number): Box => [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy];
  const rw = region[2] - region[0], rh = region[3] - region[1];
  const w = s.subjectBox[2] - s.subjectBox[0], h = s.subjectBox[3] - s.subjectBox[1];
  if (w > rw || h > rh) return [];
  const found = randomBoxesLike(rng, s.subjectBox, k, [shift(s.subjectBox, -rx, -ry), shift(s.referenceBox, -rx, -ry)], rw, rh);
  const out: Box[] = [];
  for (const b of found.map((b) => shift(b, rx, ry))) if (!out.some((o) => o.every((v, i) => v === b[i]))) out.push(b);
  for (const b of out)
    if (intersectionArea(b, s.subjectBox) > 0 || intersectionArea(b, s.referenceBox) > 0) throw new Error(`maskingBoxes: internal error, box ${b} intersects an object`);
  return out;
}

/** Fig 8b on the given questions. */
export async function imageMasking(model: Model, samples: readonly FailureSample[], opts: MaskingOptions = {}): Promise<MaskingResult> {
  if (samples.length === 0) throw new Error("imageMasking: no questions");
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new Error(`imageMasking: k must be a positive integer, got ${k}`);
  const seed = opts.seed ?? 42;
  const t0 = Date.now(), calls0 = model.sessionCalls;
  const questions: MaskingQuestion[] = [];
  let runs = 0, noRoom = 0, sigmaUsed = NaN;
  const per = Math.max(1, Math.floor((opts.batchSize ?? 48) / (k + 2)));
  for (let start = 0; start < samples.length; start += per) {
    const chunk = samples.slice(start, start + per);
    const items: { input: PreparedInput }[] = [];
    const meta: { s: FailureSample; boxes: Box[]; first: number; count: number }[] = [];
    for (const s of chunk) {
      const sigma = opts.sigma ?? defaultBlurSigma(s.image.width, s.image.height);
      sigmaUsed = sigma;
      const region = visibleRegion(s.image.width, s.image.height, model.bundle.preprocessor, model.meta.image_size);
      const boxes = maskingBoxes(s, k, seed, region);
      const images = [s.image, await blurBox(s.image, s.subjectBox, sigma)];
      for (const b of boxes) images.push(await blurBox(s.image, b, sigma));
      meta.push({ s, boxes, first: items.length, count: images.length });
      for (const im of images) items.push({ input: await model.prepare({ image: im, prompt: s.question, chat: opts.chat }) });
    }
    const res = await model.patchBatch(items, { logprobs: ["left", "right", "above", "below"], batchSize: opts.batchSize ?? 48 });
    runs += items.length;
    for (const m of meta) {
      const rs = res.slice(m.first, m.first + m.count);
      const lpC = rs.map((r) => r.logprobs[m.s.answer]), lpO = rs.map((r) => r.logprobs[m.s.other]);
      const randoms = lpC.slice(2);
      const authors = randoms.slice(2, 6);
      if (randoms.length === 0) noRoom++;
      questions.push({
        task: m.s.task, index: m.s.index, answer: m.s.answer, correct: predictedAnswer(rs[0].logprobs, m.s.answers) === m.s.answer,
        boxes: m.boxes, lpCorrect: lpC, lpOther: lpO,
        diff: randoms.length ? Math.min(...randoms) - lpC[1] : NaN,
        diffAuthors: authors.length ? Math.min(...authors) - lpC[1] : NaN,
      });
    }
    model.clearCaches();
    opts.onProgress?.(Math.min(samples.length, start + per), samples.length);
  }
  return { model: model.name, k, sigma: sigmaUsed, seed, questions, noRoom, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000 };
}

export interface MaskingSummary {
  /** "k" (min over every random blur) or "authors" (random blurs 3–6) */
  statistic: "k" | "authors";
  diffs: { correct: number[]; wrong: number[] };
  correct: GroupStats;
  wrong: GroupStats;
  /** Mann–Whitney, x = wrong, y = correct ("greater": failures are hurt more by blurring the subject) */
  test: UTests;
  /** mean lp(correct) per image kind and group: original, subject blurred, mean over random blurs */
  meanLp: { correct: [number, number, number]; wrong: [number, number, number] };
  /** questions where the 8b verdict disagrees with the 8a verdict given (0 when none given) */
  verdictMismatch: number;
  excluded: number;
}

/**
 * Fig 8b numbers, split by the 8a verdict when `deviation` is given (matched by task and index), otherwise by the
 * verdict on the original image of this run (the same prompt, so the same verdict).
 */
export function summariseMasking(r: MaskingResult, deviation?: DeviationResult, statistic: "k" | "authors" = "k"): MaskingSummary {
  const verdict = new Map<string, boolean>();
  for (const q of deviation?.questions ?? []) verdict.set(`${q.task}#${q.index}`, q.correct);
  let mismatch = 0;
  const correctOf = (q: MaskingQuestion): boolean => {
    const v = verdict.get(`${q.task}#${q.index}`);
    if (v !== undefined && v !== q.correct) mismatch++;
    return v ?? q.correct;
  };
  const dc: number[] = [], dw: number[] = [];
  const lpSum = { correct: [[], [], []] as number[][], wrong: [[], [], []] as number[][] };
  let excluded = 0;
  for (const q of r.questions) {
    const ok = correctOf(q);
    const d = statistic === "k" ? q.diff : q.diffAuthors;
    if (!Number.isFinite(d)) {
      excluded++;
      continue;
    }
    (ok ? dc : dw).push(d);
    const g = ok ? lpSum.correct : lpSum.wrong;
    g[0].push(q.lpCorrect[0]);
    g[1].push(q.lpCorrect[1]);
    g[2].push(mean(q.lpCorrect.slice(2)));
  }
  const m3 = (g: number[][]): [number, number, number] => g.map((v) => (v.length ? mean(v) : NaN)) as [number, number, number];
  return {
    statistic, diffs: { correct: dc, wrong: dw }, correct: groupStats(dc), wrong: groupStats(dw), test: uTests(dw, dc),
    meanLp: { correct: m3(lpSum.correct), wrong: m3(lpSum.wrong) }, verdictMismatch: mismatch, excluded,
  };
}

/** The paper's Fig 8b claim for LLaVA: failures are more sensitive to blurring the subject than successes. */
export function describeMaskingClaim(s: MaskingSummary, alpha = 0.05): { name: string; pass: boolean; detail: string }[] {
  return [
    {
      name: `failures are hurt more by blurring the subject than successes (diff wrong > correct, Mann–Whitney p < ${alpha})`,
      pass: s.test.greater < alpha,
      detail: `median diff wrong ${fmt3(s.wrong.median)} (n = ${s.wrong.n}) vs correct ${fmt3(s.correct.median)} (n = ${s.correct.n}); P(wrong > correct) = ${fmt3(s.test.effectSize)}, p greater ${fmtP(s.test.greater)}, two-sided ${fmtP(s.test.twoSided)}, less ${fmtP(s.test.less)}`,
    },
  ];
}
