// Fig 10a: temporal mirror swap — where does the information that decides "before or after" converge in a video model?
//
// The Fig 4 experiment with time in place of space: for each scene-order question ("Does the a come before or after
// the b?" about a clip whose first four frames show one object and last four the other), the counterfactual is the
// same clip with its frames in reverse order (the answer flips), the text is unchanged. For every site L and token
// set Q, x is re-run with the residual stream at (L, Q) replaced by the reversed run's values; belief shift per answer
// word t: (lp_x[t] − lp_patched[t]) / (lp_x[t] − lp_y[t]) (1 = the patch carries the whole reversed belief, 0 = no
// effect). The sweep, the token sets, the metric and the summaries are Fig 4's (mirrorSwap.ts: swapSweep,
// tokenSetPositions, summariseMirrorSwap, describeSwapPattern); this file adds the clips and the wording.
// Token sets: "image" = every video (frame) token (8 frames × tokens per frame), "text" = every position after the
// last frame token, "objectWords" = the last sub-token of each asked object's name.
// Passes per question: 2 clean runs + |sites| × |token sets| patched runs, batched per token set with prefix reuse.
//
// Deviations from the authors' code (reference-code-spec §9.2, §11) and why:
//  1. Token positions by tokenizing the frame-expanded sequence. The authors take "text" = the last
//     len(input_ids of the first entry) positions for every video, "image" = positions 0..1678 (a hard-coded count
//     that also covers the system prompt before the video), and "text-objonly" = fixed offsets from the end (−20−n2,
//     −12), which drift whenever a question differs in length from the first one (§11.11).
//  2. Object words: the last sub-token of each asked object's name (as Fig 4); the authors patch one position per
//     whitespace word of the two scene descriptions. The toy's object names are single tokens.
//  3. Layers: every site, hook_embed (−1) and blocks.0 … blocks.{n−1}.hook_resid_post; the x axis is the block index L
//     (HF hidden_states[L+1]), the authors' Convention B (they hook layers[0..27] = H[1..28]).
//  4. Answer tokens: the first sub-token of " before" / " after" (model.answerToken), re-derived from the tokenizer;
//     the authors hard-code Qwen2 ids 24885 and 46893.
//  5. Data: seeded scene-order clips from src/data (frames 0–3: object a or b on one background, frames 4–7: the other
//     on another; default split "train"; the notebook's full size is 200 questions, as the authors' first 200 manifest
//     entries) instead of MVBench Scene_QA videos; question = the toy's template, not the MVBench query rewritten with
//     "earlier or later than" (whose replacement drops a space in the authors' code).
//  6. Undefined shifts (zero denominators) are counted and excluded; `summariseMirrorSwap(r, "zero")` gives the
//     authors' NaN → 0. The GT-conditioned form on probabilities is reported too (as in Fig 4).
//  7. The authors' plotting module is missing from their repository; the panels here are Fig 4's (mean ± std per
//     answer word vs layer), titled by the token set actually swapped.
import type { Model } from "../engine/model";
import type { RgbImage } from "../data/image";
import type { Split } from "../data/pools";
import { getTask } from "../data/tasks";
import { reverseSample } from "../data/reverse";
import { sceneOrderVideo } from "../data/video";
import { Q } from "../data/questions";
import { pickDistinct, streamRng } from "../data/seeds";
import type { TaskSample } from "../data/task";
import type { Rng } from "../analysis/rng";
import { mean } from "../analysis/stats";
import { binomialTwoSided } from "./adversarialSteering";
import {
  describeSwapPattern, questionShifts, swapSweep, type MirrorSwapOptions, type MirrorSwapResult, type PatternCheck, type SwapSummary,
  type TokenSetName,
} from "./mirrorSwap";
import { fmt, fmtP } from "./format";

/** One before/after question with its clip and the reversed clip. */
export interface TemporalSwapSample {
  frames: RgbImage[];
  /** the same frames in reverse order */
  counterfactual: RgbImage[];
  question: string;
  subject: string;
  reference: string;
  /** ground truth on the original clip */
  answer: string;
  /** ground truth on the reversed clip (the opposite) */
  counterfactualAnswer: string;
}

export interface TemporalSampleOptions {
  /** canvas side in px; use the model's `meta.image_size` */
  size: number;
  /** base seed (default 42) */
  seed?: number;
  /** object pool of the questions (default "train") */
  split?: Split;
  /** restrict the two objects to these (e.g. a bundle with a smaller vocabulary) */
  objects?: readonly string[];
  /** clip task (default "video-order", the stand-in for MVBench scene order) */
  task?: "video-order" | "video-appear";
}

async function restrictedOrderClip(rng: Rng, size: number, objects: readonly string[]): Promise<TaskSample> {
  if (objects.length < 2) throw new Error(`temporalSwapSamples: objects needs at least 2 names, got ${objects.length}`);
  const [s, r] = pickDistinct(rng, objects, 2);
  const subjectFirst = rng.int(2) === 0;
  const v = await sceneOrderVideo(rng, subjectFirst ? s : r, subjectFirst ? r : s, size);
  return { frames: v.frames, meta: { task: "video-order", question: Q.beforeAfter(s, r), answer: subjectFirst ? "before" : "after", objects: [s, r], boxes: v.boxes } };
}

/** The i-th seeded clip of a stream (shared by the swap and steering samplers). */
export async function temporalClip(stream: string, i: number, opts: TemporalSampleOptions): Promise<TaskSample> {
  const rng = streamRng(opts.seed ?? 42, stream, i);
  const task = opts.task ?? "video-order";
  if (task !== "video-order" && task !== "video-appear") throw new Error(`temporal clips: task must be "video-order" or "video-appear", got ${JSON.stringify(task)}`);
  if (opts.objects) {
    if (task !== "video-order") throw new Error("temporal clips: the objects restriction supports video-order only");
    return restrictedOrderClip(rng, opts.size, opts.objects);
  }
  return getTask(task).generate({ rng, size: opts.size, split: opts.split ?? "train" });
}

/** n seeded scene-order questions and their frame-reversed counterparts. */
export async function temporalSwapSamples(n: number, opts: TemporalSampleOptions): Promise<TemporalSwapSample[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`temporalSwapSamples: n must be a positive integer, got ${n}`);
  const out: TemporalSwapSample[] = [];
  for (let i = 0; i < n; i++) {
    const s = await temporalClip("fig10a-clips", i, opts);
    const r = reverseSample(s);
    const [subject, reference] = s.meta.objects;
    out.push({ frames: s.frames, counterfactual: r.frames, question: s.meta.question, subject, reference, answer: s.meta.answer, counterfactualAnswer: r.meta.answer });
  }
  return out;
}

export type TemporalSwapOptions = Omit<MirrorSwapOptions, "promptTemplate">;
export type TemporalSwapResult = MirrorSwapResult<"reverse">;

/**
 * Runs the temporal swap sweep (Fig 4's sweep, mirrorSwap.swapSweep) on clips and their reversals; answers default to
 * ["before", "after"].
 */
export async function temporalMirrorSwap(model: Model, samples: readonly TemporalSwapSample[], opts: TemporalSwapOptions = {}): Promise<TemporalSwapResult> {
  if (samples.length === 0) throw new Error("temporalMirrorSwap: no samples");
  const o: MirrorSwapOptions = { ...opts, answers: opts.answers ?? ["before", "after"] };
  return swapSweep(model, samples.length, "reverse", o, "temporalMirrorSwap", async (i) => {
    const s = samples[i];
    if (s.frames.length !== s.counterfactual.length) throw new Error(`temporalMirrorSwap: sample ${i}: ${s.frames.length} frames but ${s.counterfactual.length} reversed frames`);
    const x = await model.prepare({ frames: s.frames, prompt: s.question, chat: opts.chat });
    const y = await model.prepare({ frames: s.counterfactual, prompt: s.question, chat: opts.chat });
    return { x, y, subject: s.subject, reference: s.reference, answer: s.answer, counterfactualAnswer: s.counterfactualAnswer };
  });
}

export const TEMPORAL_TOKEN_SET_TITLES: Readonly<Record<TokenSetName, string>> = Object.freeze({
  image: "Swapped all video (frame) tokens",
  text: "Swapped all text tokens",
  objectWords: "Swapped object words",
});

/** Per-question belief shift at one layer and token set, averaged over the two answer words (NaN words skipped). */
export function questionMeanShifts(r: TemporalSwapResult | MirrorSwapResult<string>, tokenSet: TokenSetName, k: number): number[] {
  return r.questions.map((q) => {
    const s = questionShifts(q, tokenSet, k, r.answers).perWord;
    const v = r.answers.map((a) => s[a]).filter(Number.isFinite);
    return v.length ? mean(v) : NaN;
  });
}


/**
 * Fig 4's pattern checks worded for video (describeSwapPattern: the model answers the clips and their reversals;
 * frame tokens strong early and decaying; text growing with depth and overtaking them; object words only in a middle
 * band), plus a sign test for the object-word band: at the block where the object-word shift peaks, do more questions
 * shift towards the reversed answer (per-question shift, mean of the two words, > 0) than away from it? Exact
 * two-sided binomial test, Bonferroni over the decoder blocks (the peak is chosen after looking).
 */
export function describeTemporalSwapPattern(s: SwapSummary<string>, r: TemporalSwapResult): PatternCheck[] {
  const out = describeSwapPattern(s, undefined, { image: "video (frame) tokens", counterfactual: "reversed clips" });
  const c = s.curves.find((x) => x.tokenSet === "objectWords");
  if (c && r.tokenSets.includes("objectWords")) {
    const blocks = s.layers.map((L, k) => [L, k] as const).filter(([L]) => L >= 0 && L < Math.max(...s.layers));
    if (blocks.length) {
      const avg = (k: number): number => mean(s.answers.map((a) => c.perWord[a][k].mean).filter(Number.isFinite));
      const [Lp, kp] = blocks.reduce((a, b) => (avg(b[1]) > avg(a[1]) ? b : a));
      const v = questionMeanShifts(r, "objectWords", kp).filter(Number.isFinite);
      const pos = v.filter((x) => x > 0).length, neg = v.filter((x) => x < 0).length;
      const p = binomialTwoSided(pos, pos + neg), adj = Math.min(1, p * blocks.length);
      out.push({
        name: "object-word swap shifts the belief at its peak block (sign test over questions)",
        pass: pos > neg && adj < 0.05,
        detail: `block ${Lp} (peak of the mean shift ${fmt(avg(kp))}, last block excluded): ${pos} questions shift towards the reversed answer, ${neg} away; ` +
          `exact two-sided p ${fmtP(p)} (× ${blocks.length} blocks = ${fmtP(adj)})`,
      });
    }
  }
  return out;
}
