// Fig 10b: temporal IDs — the video analogue of the spatial ID (what the object word carries about *when* it appeared).
//
// For each object pair (a, b) and every ordered pair of appearance frames f_a ≠ f_b ∈ 1..7, render an appearance
// clip (frame 0 = background only, a appears at f_a and b at f_b, both stay; src/data/video.ts), ask "Does the a come
// before or after the b?" and read the residual stream at a's word and at b's word at every site. Each clip gives two
// observations: (a, f_a) and (b, f_b). Per (object, frame) the observations are averaged over the partner frames
// (and partners); the temporal ID of frame f is the mean over objects, T_L(f) (raw, as the authors; optionally each
// object's vectors are first centred over its frames). Per layer: 1-D PCA of the frame IDs (sign fixed so the first
// frame projects below the last), explained variance of PC1, min–max normalised strip, and the "before"/"after"
// markers = raw hidden states of those words in a text-only run of the question, projected with the same PCA.
// Is time ordered along PC1? Spearman of PC1 with the frame index, exact permutation p-value (all n! orders).
// Passes: one trace per clip (|pairs| × |frames| × (|frames| − 1), batched per pair) + one text-only run.
//
// Deviations from the authors' code (reference-code-spec §9.1, §11) and why:
//  1. Averaging: the authors store `emb[obj][L][frame]` once per clip and **overwrite** it, so each (object, frame)
//     keeps only the last partner clip (§11.11). Here every observation is averaged (`ids`); the authors' overwrite
//     (last observation in processing order) is kept beside it (`overwriteIds`, projectTemporalIds(r, { ids:
//     "authors-overwrite" })) so the notebook can show what the bug changes.
//  2. Per-object centring is offered (`centredIds`): each object's frame vectors minus that object's mean over frames,
//     then averaged over objects. With every object observed at every frame it only shifts all T_L(f) by one constant
//     vector, so the PCA, the strip and the steering differences T(i) − T(j) are unchanged; it matters when frames
//     are missing for some objects. The authors use the raw mean.
//  3. Token positions: the last sub-token of each object name, found by tokenizing the chat-templated, frame-expanded
//     sequence (the authors hard-code −18 / −12 from the end, valid only for single-token names); the "before" /
//     "after" markers likewise (authors: −16 / −14).
//  4. Layers: every site, hook_embed (−1) and blocks.0 … blocks.{n−1}.hook_resid_post; the printed layer is the block
//     index L (HF hidden_states[L+1]). The authors read H[0..28] (Convention A) and plot H[12] (= our block 11 of 28).
//     hook_embed is degenerate (a word's embedding cannot depend on the clip) and reported as such.
//  5. Data: seeded clips from src/data (Twemoji sprites on textured backgrounds, 8 frames of the model's 64-px canvas;
//     one clip per (pair, f_a, f_b)) instead of the downloaded appear_*.mp4 files; pairs are disjoint, seeded draws
//     from the training relation pool (default 5 pairs, the authors' --num_obj_pairs 5) instead of the first 5 globbed.
//  6. Question: the toy model's trained template "Does the a come before or after the b?" (chat template
//     "USER: <video>\n… ASSISTANT:") instead of LLaVA-Video's timing preamble + "In this video, two objects appear at
//     different times. … Answer in one word."; the markers come from a text-only run of the first pair's question
//     (authors: a circle/triangle question).
//  7. Also reported (not in the authors' code): PC1's Spearman with the frame index and its exact permutation p-value
//     (steerability.spearmanPermutationP, all 7! orderings), per-object orderings along PC1 (each object's own
//     averaged vectors projected on the frame-ID PCA), and the model's accuracy on the extraction clips.
import type { Model } from "../engine/model";
import { resid, type SiteName } from "../engine/sites";
import { appearanceVideo, VIDEO_FRAMES } from "../data/video";
import { checkObjectName, TRAIN_OBJECTS } from "../data/objects";
import { Q } from "../data/questions";
import { pickDistinct, streamRng } from "../data/seeds";
import { pca, projectWithPca, orientComponent } from "../analysis/pca";
import { spearman } from "../analysis/stats";
import { textMarkers } from "./spatialIds";
import { spearmanPermutationP } from "./steerability";
import { fmt, fmtP } from "./format";

/** One read of an object word: which object, at which appearance frame, the residual vector at one site. */
export interface TemporalObservation {
  object: string;
  frame: number;
  vector: ArrayLike<number>;
}

export interface AggregatedTemporalIds {
  frames: number[];
  objects: string[];
  /** object → per frame (order of `frames`): the aggregated vector, or null when never observed */
  perObject: Record<string, (Float64Array | null)[]>;
  /** object → observations per frame */
  counts: Record<string, number[]>;
  /** T(f): mean over the objects observed at f of their aggregated vectors (the authors' raw temporal ID) */
  ids: Float64Array[];
  /** the same after centring each object over its observed frames */
  centred: Float64Array[];
}

/**
 * Aggregates object-word observations into temporal IDs. "mean" (default) averages every observation of an
 * (object, frame); "authors-overwrite" keeps only the last one, as the authors' extraction_pca.py does.
 */
export function aggregateTemporalIds(
  obs: readonly TemporalObservation[], frames: readonly number[], opts: { aggregate?: "mean" | "authors-overwrite" } = {},
): AggregatedTemporalIds {
  const aggregate = opts.aggregate ?? "mean";
  if (aggregate !== "mean" && aggregate !== "authors-overwrite") throw new Error(`aggregateTemporalIds: aggregate must be "mean" or "authors-overwrite", got ${JSON.stringify(aggregate)}`);
  if (frames.length < 2) throw new Error(`aggregateTemporalIds: need at least 2 frames, got ${frames.length}`);
  if (new Set(frames).size !== frames.length) throw new Error(`aggregateTemporalIds: frames repeat: ${frames.join(", ")}`);
  if (obs.length === 0) throw new Error("aggregateTemporalIds: no observations");
  const d = obs[0].vector.length;
  const objects: string[] = [];
  const sums: Record<string, (Float64Array | null)[]> = {};
  const counts: Record<string, number[]> = {};
  for (const o of obs) {
    const f = frames.indexOf(o.frame);
    if (f < 0) throw new Error(`aggregateTemporalIds: observation of "${o.object}" at frame ${o.frame}, which is not among the frames ${frames.join(", ")}`);
    if (o.vector.length !== d) throw new Error(`aggregateTemporalIds: vector of "${o.object}" at frame ${o.frame} has length ${o.vector.length}, expected ${d}`);
    if (!sums[o.object]) {
      objects.push(o.object);
      sums[o.object] = frames.map(() => null);
      counts[o.object] = frames.map(() => 0);
    }
    const cur = sums[o.object][f];
    if (aggregate === "authors-overwrite" || cur === null) sums[o.object][f] = Float64Array.from(o.vector);
    else for (let j = 0; j < d; j++) cur[j] += o.vector[j];
    counts[o.object][f]++;
  }
  const perObject: Record<string, (Float64Array | null)[]> = {};
  for (const name of objects)
    perObject[name] = sums[name].map((v, f) => (v === null ? null : aggregate === "mean" ? v.map((x) => x / counts[name][f]) : v));
  const meanOver = (vs: Float64Array[]): Float64Array => {
    const out = new Float64Array(d);
    for (const v of vs) for (let j = 0; j < d; j++) out[j] += v[j] / vs.length;
    return out;
  };
  const ids = frames.map((f, k) => {
    const vs = objects.map((o) => perObject[o][k]).filter((v): v is Float64Array => v !== null);
    if (vs.length === 0) throw new Error(`aggregateTemporalIds: no object was observed at frame ${f}`);
    return meanOver(vs);
  });
  const centredObj: Record<string, (Float64Array | null)[]> = {};
  for (const o of objects) {
    const seen = perObject[o].filter((v): v is Float64Array => v !== null);
    const mu = meanOver(seen);
    centredObj[o] = perObject[o].map((v) => (v === null ? null : v.map((x, j) => x - mu[j])));
  }
  const centred = frames.map((_, k) => meanOver(objects.map((o) => centredObj[o][k]).filter((v): v is Float64Array => v !== null)));
  return { frames: [...frames], objects, perObject, counts, ids, centred };
}

// ---------------------------------------------------------------------------------------------------------------
// Extraction

export interface TemporalIdOptions {
  /** explicit pairs [a, b]: "Does the a come before or after the b?"; overrides numPairs/objects */
  pairs?: readonly [string, string][];
  /** number of disjoint pairs drawn from `objects` (default 5, the authors' --num_obj_pairs) */
  numPairs?: number;
  /** pool the pairs are drawn from (default: the training relation objects) */
  objects?: readonly string[];
  /** appearance frames (default 1..7: frame 0 is background only) */
  frames?: readonly number[];
  /** sites as block indices, −1 = hook_embed (default every site) */
  layers?: number[];
  /** base seed of the pairs and clips (default 42) */
  seed?: number;
  /** words read in a text-only run of the first pair's question (default ["before", "after"]) */
  markers?: readonly string[];
  chat?: boolean;
  /** rows per session call (default 42) */
  batchSize?: number;
  /** called after each pair with (pairs done, pairs total) */
  onProgress?: (done: number, total: number) => void;
}

export interface TemporalIdResult {
  model: string;
  layers: number[];
  sites: SiteName[];
  pairs: [string, string][];
  frames: number[];
  objects: string[];
  /** per layer (order of `layers`): T_L(f) per frame (order of `frames`), every observation averaged */
  ids: Float64Array[][];
  /** per layer: the per-object-centred version */
  centredIds: Float64Array[][];
  /** per layer: the authors' version (each (object, frame) keeps only its last observation) */
  overwriteIds: Float64Array[][];
  /** per layer: object → per frame aggregated vector (null = not observed) */
  perObject: Record<string, (Float64Array | null)[]>[];
  /** object → observations per frame (the same at every layer) */
  counts: Record<string, number[]>;
  /** marker word → raw hidden state per layer (text-only run) */
  markers: Record<string, Float32Array[]>;
  markerPrompt: string;
  /** accuracy of the model (argmax of before/after) on the extraction clips */
  accuracy: number;
  clips: number;
  runs: number;
  sessionCalls: number;
  seconds: number;
}

/** Disjoint pairs drawn from a pool with a seeded generator (the same seed gives the same pairs). */
export function temporalPairs(numPairs: number, pool: readonly string[] = TRAIN_OBJECTS, seed = 42): [string, string][] {
  if (!Number.isInteger(numPairs) || numPairs < 1) throw new Error(`temporalPairs: numPairs must be a positive integer, got ${numPairs}`);
  if (2 * numPairs > pool.length) throw new Error(`temporalPairs: ${numPairs} disjoint pairs need ${2 * numPairs} objects, the pool has ${pool.length}`);
  const picked = pickDistinct(streamRng(seed, "fig10b-pairs"), pool, 2 * numPairs);
  return Array.from({ length: numPairs }, (_, k) => [picked[2 * k], picked[2 * k + 1]] as [string, string]);
}

/** Temporal IDs at every requested site (see the header for the method). */
export async function temporalIds(model: Model, opts: TemporalIdOptions = {}): Promise<TemporalIdResult> {
  if (!model.instrumented) throw new Error("temporalIds: the model was loaded with instrumented: false");
  const maxFrames = Number(model.meta.max_frames ?? 0);
  if (!(maxFrames >= VIDEO_FRAMES)) throw new Error(`temporalIds: ${model.name} is not a video model with ≥ ${VIDEO_FRAMES} frames (max_frames ${model.meta.max_frames ?? "missing"} in linmech.json)`);
  const seed = opts.seed ?? 42;
  const pairs = opts.pairs ? opts.pairs.map((p) => [...p] as [string, string]) : temporalPairs(opts.numPairs ?? 5, opts.objects ?? TRAIN_OBJECTS, seed);
  if (pairs.length === 0) throw new Error("temporalIds: no object pairs");
  for (const [a, b] of pairs) {
    checkObjectName(a, "pair subject");
    checkObjectName(b, "pair reference");
    if (a === b) throw new Error(`temporalIds: pair (${a}, ${b}) uses the same object twice`);
  }
  const frames = [...(opts.frames ?? Array.from({ length: VIDEO_FRAMES - 1 }, (_, i) => i + 1))];
  for (const f of frames) if (!Number.isInteger(f) || f < 1 || f >= VIDEO_FRAMES) throw new Error(`temporalIds: frame ${f} is outside 1..${VIDEO_FRAMES - 1} (frame 0 shows only the background)`);
  if (frames.length < 2 || new Set(frames).size !== frames.length) throw new Error(`temporalIds: need at least 2 distinct frames, got ${frames.join(", ")}`);
  const layers = opts.layers ?? [-1, ...Array.from({ length: model.numLayers }, (_, i) => i)];
  for (const L of layers) if (!Number.isInteger(L) || L < -1 || L >= model.numLayers) throw new Error(`temporalIds: layer ${L} is outside −1..${model.numLayers - 1}`);
  const sites = layers.map(resid);
  const t0 = Date.now(), calls0 = model.sessionCalls;
  const obs: TemporalObservation[][] = sites.map(() => []);
  let runs = 0, correct = 0, clips = 0;
  for (let p = 0; p < pairs.length; p++) {
    const [a, b] = pairs[p];
    const prompt = Q.beforeAfter(a, b);
    const items = [];
    const meta: { fa: number; fb: number }[] = [];
    for (const fa of frames)
      for (const fb of frames) {
        if (fa === fb) continue;
        const v = await appearanceVideo(streamRng(seed, "fig10b-clips", a, b, fa, fb), a, fa, b, fb, model.meta.image_size);
        items.push({ input: await model.prepare({ frames: v.frames, prompt, chat: opts.chat }) });
        meta.push({ fa, fb });
      }
    const pa = items[0].input.positionOf(a), pb = items[0].input.positionOf(b);
    for (const it of items)
      if (it.input.positionOf(a) !== pa || it.input.positionOf(b) !== pb) throw new Error(`temporalIds: pair ${a}|${b}: the object words move between clips`);
    const res = await model.patchBatch(items, { trace: sites.map((site) => ({ site, positions: [pa, pb] })), logprobs: ["before", "after"], prefixReuse: false, batchSize: opts.batchSize ?? 42 });
    res.forEach((r, k) => {
      const { fa, fb } = meta[k];
      const said = r.logprobs.before >= r.logprobs.after ? "before" : "after";
      if (said === (fa < fb ? "before" : "after")) correct++;
      sites.forEach((site, s) => {
        const acts = r.get(site);
        obs[s].push({ object: a, frame: fa, vector: acts.get(pa) }, { object: b, frame: fb, vector: acts.get(pb) });
      });
    });
    runs += items.length;
    clips += items.length;
    model.clearCaches();
    opts.onProgress?.(p + 1, pairs.length);
  }
  const agg = obs.map((o) => aggregateTemporalIds(o, frames));
  const overwrite = obs.map((o) => aggregateTemporalIds(o, frames, { aggregate: "authors-overwrite" }));
  const markerWords = [...(opts.markers ?? ["before", "after"])];
  const markerPrompt = Q.beforeAfter(pairs[0][0], pairs[0][1]);
  const markers = markerWords.length ? await textMarkers(model, markerPrompt, markerWords, layers, opts.chat) : {};
  if (markerWords.length) runs++;
  return {
    model: model.name, layers: [...layers], sites, pairs, frames, objects: agg[0].objects,
    ids: agg.map((g) => g.ids), centredIds: agg.map((g) => g.centred), overwriteIds: overwrite.map((g) => g.ids), perObject: agg.map((g) => g.perObject), counts: agg[0].counts,
    markers, markerPrompt, accuracy: correct / clips, clips, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// PCA and ordering

export interface TemporalProjection {
  layer: number;
  site: SiteName;
  frames: number[];
  /** PC1 coordinate of each frame's temporal ID (sign: first frame below last) */
  pc1: number[];
  /** the same min–max normalised to [0, 1] (the paper's strip) */
  normalised: number[];
  /** share of the frame IDs' variance along PC1 (the paper's title) */
  explained: number;
  /** Spearman of PC1 with the frame index and its exact two-sided permutation p-value */
  spearman: number;
  p: number;
  /** marker word → PC1 coordinate and its normalised value on the frames' scale */
  markers: Record<string, { pc1: number; normalised: number }>;
  /** object → Spearman of its own per-frame vectors projected on PC1 with the frame index (NaN: < 3 frames seen) */
  objectSpearman: Record<string, number>;
  /** true when the frame IDs do not differ (hook_embed: a word's embedding cannot see the clip) */
  degenerate: boolean;
}

/** Which temporal IDs of a result: averaged (default), per-object centred, or the authors' overwritten ones. */
export type TemporalIdVariant = "mean" | "centred" | "authors-overwrite";

function idsOf(r: TemporalIdResult, variant: TemporalIdVariant, k: number): Float64Array[] {
  if (variant === "mean") return r.ids[k];
  if (variant === "centred") return r.centredIds[k];
  if (variant === "authors-overwrite") return r.overwriteIds[k];
  throw new Error(`temporal IDs: variant must be "mean", "centred" or "authors-overwrite", got ${JSON.stringify(variant)}`);
}

/**
 * 1-D PCA of the frame IDs at every layer of a temporal-ID result (averaged IDs by default), with markers and
 * per-object orderings (averaged per-object vectors; only for the "mean" variant) projected on the same component.
 */
export function projectTemporalIds(r: TemporalIdResult, opts: { ids?: TemporalIdVariant } = {}): TemporalProjection[] {
  const variant = opts.ids ?? "mean";
  return r.layers.map((layer, k) => {
    const ids = idsOf(r, variant, k);
    const site = resid(layer);
    const nanMarkers: Record<string, { pc1: number; normalised: number }> = {};
    for (const w of Object.keys(r.markers)) nanMarkers[w] = { pc1: NaN, normalised: NaN };
    const degenerateOut = (): TemporalProjection => ({
      layer, site, frames: [...r.frames], pc1: r.frames.map(() => 0), normalised: r.frames.map(() => NaN), explained: NaN,
      spearman: NaN, p: NaN, markers: nanMarkers, objectSpearman: {}, degenerate: true,
    });
    // degenerate: the spread of the frame IDs is at rounding level relative to their size
    let spread = 0, size = 0;
    const d = ids[0].length;
    for (let j = 0; j < d; j++) {
      let mu = 0;
      for (const v of ids) mu += v[j] / ids.length;
      for (const v of ids) (spread += (v[j] - mu) ** 2), (size += v[j] ** 2);
    }
    if (!(spread > 1e-10 * Math.max(size, 1e-30))) return degenerateOut();
    let fit = pca(ids, 1);
    fit = orientComponent(fit, 0, 0, ids.length - 1);
    const pc1 = Array.from(fit.projections.data);
    const lo = Math.min(...pc1), hi = Math.max(...pc1);
    const norm = (t: number): number => (t - lo) / (hi - lo);
    const rho = spearman(r.frames, pc1);
    const p = spearmanPermutationP(r.frames, pc1);
    const markers: Record<string, { pc1: number; normalised: number }> = {};
    for (const [w, vs] of Object.entries(r.markers)) {
      const t = projectWithPca(fit, [Array.from(vs[k])]).data[0];
      markers[w] = { pc1: t, normalised: norm(t) };
    }
    const objectSpearman: Record<string, number> = {};
    if (variant === "mean")
      for (const [o, vs] of Object.entries(r.perObject[k])) {
        const seen = vs.map((v, f) => [v, r.frames[f]] as const).filter((e): e is readonly [Float64Array, number] => e[0] !== null);
        objectSpearman[o] = seen.length >= 3 ? spearman(seen.map((e) => e[1]), Array.from(projectWithPca(fit, seen.map((e) => Array.from(e[0]))).data)) : NaN;
      }
    return {
      layer, site, frames: [...r.frames], pc1, normalised: pc1.map(norm), explained: fit.explainedVarianceRatio[0],
      spearman: rho, p, markers, objectSpearman, degenerate: false,
    };
  });
}

/** Temporal IDs as steering material: site → one vector per frame (Fig 10c takes differences of these). */
export interface TemporalIdSet {
  model?: string;
  frames: number[];
  vectors: Record<string, Float64Array[]>;
}

/** The temporal IDs of a result per site (averaged by default). */
export function temporalIdSet(r: TemporalIdResult, opts: { ids?: TemporalIdVariant } = {}): TemporalIdSet {
  const vectors: Record<string, Float64Array[]> = {};
  r.sites.forEach((site, k) => (vectors[site] = idsOf(r, opts.ids ?? "mean", k).map((v) => Float64Array.from(v))));
  return { model: r.model, frames: [...r.frames], vectors };
}

/** One row per layer: PC1 share, Spearman with frame, p, marker positions on the normalised strip. */
export function temporalProjectionTable(pr: readonly TemporalProjection[]): { layer: number; site: string; explained: number; spearman: number; p: number; before: number; after: number; objectsOrdered: string }[] {
  return pr.map((p) => {
    const os = Object.values(p.objectSpearman).filter(Number.isFinite);
    return {
      layer: p.layer, site: p.site, explained: p.explained, spearman: p.spearman, p: p.p,
      before: p.markers.before?.normalised ?? NaN, after: p.markers.after?.normalised ?? NaN,
      objectsOrdered: os.length ? `${os.filter((r) => r >= 0.9).length}/${os.length}` : "",
    };
  });
}


/**
 * The paper's Fig 10b claims on the non-degenerate layers: (1) some layer orders the frames along PC1 (Spearman ≥ 0.9
 * with the frame index, exact permutation p × number of layers tested < 0.05, Bonferroni); (2) at that layer the
 * text-only "before" marker lies on the early side of "after" (gap ≥ 5% of the frames' PC1 range). Returns the best
 * layer (highest Spearman, ties → larger PC1 share).
 */
export function describeTemporalIdPattern(pr: readonly TemporalProjection[]): { best: TemporalProjection | undefined; checks: { name: string; pass: boolean; detail: string }[] } {
  const ok = pr.filter((p) => !p.degenerate && Number.isFinite(p.spearman));
  if (ok.length === 0) return { best: undefined, checks: [{ name: "temporal IDs exist", pass: false, detail: "every layer is degenerate (the frame IDs do not differ)" }] };
  const best = ok.reduce((a, b) => (b.spearman > a.spearman + 1e-12 || (Math.abs(b.spearman - a.spearman) <= 1e-12 && b.explained > a.explained) ? b : a));
  const adj = Math.min(1, best.p * ok.length);
  const ordered = ok.filter((p) => p.spearman >= 0.9).map((p) => p.layer);
  const os = Object.values(best.objectSpearman).filter(Number.isFinite);
  const checks = [{
    name: "frames are ordered along PC1 of the temporal IDs",
    pass: best.spearman >= 0.9 && adj < 0.05,
    detail: `best layer ${best.layer} (${best.site}): Spearman(PC1, frame) ${fmt(best.spearman)}, exact permutation p ${fmtP(best.p)} (× ${ok.length} layers = ${fmtP(adj)}), PC1 explains ${fmt(best.explained)}; ` +
      `layers with Spearman ≥ 0.9: ${ordered.join(", ") || "none"}` + (os.length ? `; single objects ordered (ρ ≥ 0.9) at that layer: ${os.filter((r) => r >= 0.9).length}/${os.length}` : ""),
  }];
  const b = best.markers.before, a = best.markers.after;
  if (b && a) {
    const gap = a.normalised - b.normalised;
    checks.push({
      name: '"before" marker on the early side of "after" along PC1 (gap ≥ 5% of the frames\' range)',
      pass: gap >= 0.05,
      detail: `at layer ${best.layer}: normalised PC1 of "before" ${fmt(b.normalised)}, of "after" ${fmt(a.normalised)} (frames span 0…1, first frame at ${fmt(best.normalised[0])}); gap ${fmt(gap)}`,
    });
  }
  return { best, checks };
}
