// Shared pieces of the steering experiments (Fig 2, 6, 7, 9): question samples with ground truth, the universal
// spatial IDs they add, vector helpers, and the answer-word log-prob reader.
//
// IDs: every steering experiment takes an `IdGrids` — site name → grid of universal IDs U_L(x, y). It is
// structurally the `UniversalIds` artefact of universalIds.ts (loadUniversalIds(universalIdsPath(model))), so a
// loaded artefact can be passed directly. `traceUniversalIds` computes the same quantity here from traces (full-cell
// size, chat-templated "Is the b to the left or right of the a?", the authors' centring via
// analysis/universalSpatialIds) for a model that has no artefact yet, e.g. the test fixture.
// Layer convention: an ID read at site S is added at the same site S (the authors' stand-alone scripts add the ID
// read at hidden_states[L] to hidden_states[L+1], reference-code-spec §0.1/§11.2; that offset is not reproduced).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Model } from "../engine/model";
import { resolveBundleFile } from "../engine/bundle";
import { modelsDir } from "../util/paths";
import { spatialIds, toUniversalIds } from "./spatialIds";
import { bundleHash, loadUniversalIds, saveUniversalIds, universalIdsPath, type UniversalIds } from "./universalIds";
import type { PreparedInput } from "../engine/prepared";
import { resid, type SiteName } from "../engine/sites";
import { GRID, gridTile, type Cell } from "../data/grid";
import { PAPER_OBJECTS, TRAIN_OBJECTS, checkObjectName } from "../data/objects";
import { Q, OPPOSITE } from "../data/questions";
import { streamRng, pickDistinct } from "../data/seeds";
import { getTask } from "../data/tasks";
import { clutterScene } from "../data/clutter";
import { nearFarScene, frontBehindScene } from "../data/depth";
import { inBetweenScene } from "../data/inbetween";
import type { RgbImage } from "../data/image";
import type { Split } from "../data/pools";
import { universalSpatialIds, type IdObservation, type SpatialIdGrid } from "../analysis/spatialIds";

/** Universal IDs per site (structurally compatible with the UniversalIds artefact). */
export interface IdGrids {
  model?: string;
  grids: Record<string, SpatialIdGrid>;
}

/** The ID grid at a block index (−1 = hook_embed); throws naming the sites available. */
export function idGridAt(ids: IdGrids, layer: number): SpatialIdGrid {
  const site = resid(layer);
  const g = ids.grids[site];
  if (!g) throw new Error(`no universal IDs at ${site}; the IDs hold ${Object.keys(ids.grids).join(", ") || "no sites"}`);
  return g;
}

export interface TraceIdsOptions {
  /** objects whose ordered pairs are traced (default: the paper's ten) */
  objects?: readonly string[];
  /** block indices to read (default every block) */
  layers?: number[];
  batchSize?: number;
  chat?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Universal IDs from traces: every ordered pair (a, b) of `objects`, b in each of the 16 cells with a in each other
 * cell (240 tiles per pair, full-cell objects on black), b's word read at each layer; per pair centred within each
 * partner cell's group and averaged over partner cells, then averaged over pairs (analysis/universalSpatialIds).
 */
export async function traceUniversalIds(model: Model, opts: TraceIdsOptions = {}): Promise<IdGrids & { pairs: number; tiles: number }> {
  const objects = opts.objects ?? PAPER_OBJECTS;
  if (objects.length < 2) throw new Error(`traceUniversalIds: need at least 2 objects, got ${objects.length}`);
  for (const o of objects) checkObjectName(o);
  const layers = opts.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
  for (const L of layers) if (!Number.isInteger(L) || L < -1 || L >= model.numLayers) throw new Error(`traceUniversalIds: layer ${L} outside −1..${model.numLayers - 1}`);
  const canvas = model.meta.image_size;
  const side = canvas / GRID;
  const sites = layers.map(resid);
  const obs: IdObservation[][] = sites.map(() => []);
  const pairs: [string, string][] = [];
  for (const a of objects) for (const b of objects) if (a !== b) pairs.push([a, b]);
  let tiles = 0;
  for (let p = 0; p < pairs.length; p++) {
    const [a, b] = pairs[p];
    const prompt = Q.leftRight(b, a);
    const items: { input: PreparedInput }[] = [];
    const cells: [Cell, Cell][] = [];
    for (let ai = 0; ai < GRID * GRID; ai++)
      for (let bi = 0; bi < GRID * GRID; bi++) {
        if (ai === bi) continue;
        const cellA: Cell = [ai % GRID, Math.floor(ai / GRID)], cellB: Cell = [bi % GRID, Math.floor(bi / GRID)];
        const t = await gridTile({ a, b, cellA, cellB, size: side, canvas });
        items.push({ input: await model.prepare({ image: t.image, prompt, chat: opts.chat }) });
        cells.push([cellA, cellB]);
      }
    const pos = items[0].input.positionOf(b);
    const res = await model.patchBatch(items, { trace: sites.map((site) => ({ site, positions: pos })), prefixReuse: false, batchSize: opts.batchSize ?? 32 });
    res.forEach((r, k) => {
      const [ca, cb] = cells[k];
      sites.forEach((site, s) =>
        obs[s].push({ pair: `${a}|${b}`, partnerCell: { x: ca[0], y: ca[1] }, cell: { x: cb[0], y: cb[1] }, vector: Float64Array.from(r.get(site).row(0)) }),
      );
    });
    tiles += items.length;
    model.clearCaches();
    opts.onProgress?.(p + 1, pairs.length);
  }
  const grids: Record<string, SpatialIdGrid> = {};
  sites.forEach((site, s) => (grids[site] = universalSpatialIds(obs[s], GRID)));
  return { model: model.name, grids, pairs: pairs.length, tiles };
}

// ---------------------------------------------------------------------------------------------------------------
// Vectors

export function l2norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** v rescaled to Euclidean norm `target` (a zero vector cannot be rescaled: error). */
export function scaleToNorm(v: ArrayLike<number>, target: number): Float64Array {
  if (!Number.isFinite(target) || target < 0) throw new Error(`scaleToNorm: target norm must be finite and ≥ 0, got ${target}`);
  const n = l2norm(v);
  if (!(n > 0)) throw new Error("scaleToNorm: the vector is zero (are the IDs of these two cells identical?), it has no direction to rescale");
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] * target) / n;
  return out;
}

export function scaled(v: ArrayLike<number>, m: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * m;
  return out;
}

export function negated(v: ArrayLike<number>): Float64Array {
  return scaled(v, -1);
}

// ---------------------------------------------------------------------------------------------------------------
// Question samples

/** Tasks the steering experiments draw questions from. */
export type SteeringTask = "clutter-lr" | "clutter-ab" | "grid-lr" | "grid-ab" | "nearfar" | "inbetween" | "frontbehind";
export const STEERING_TASKS: readonly SteeringTask[] = ["clutter-lr", "clutter-ab", "grid-lr", "grid-ab", "nearfar", "inbetween", "frontbehind"];

/** One question with its image and ground truth. */
export interface SteeringSample {
  task: SteeringTask;
  index: number;
  image: RgbImage;
  question: string;
  /** the object steered in Fig 6/7 (first asked object) */
  subject: string;
  /** the second asked object (in between: the first reference) */
  reference: string;
  /** in between: the second reference */
  reference2?: string;
  /** ground-truth answer word */
  answer: string;
  /** the other answer word */
  other: string;
  /** the task's two answer words in fixed order (e.g. ["left", "right"]) */
  answers: [string, string];
}

export interface SampleOptions {
  /** canvas side (use model.meta.image_size) */
  size: number;
  /** base seed (default 42, the authors' random.seed) */
  seed?: number;
  /** object pool (default "train": objects the toy model was asked about in training) */
  split?: Split;
  /** restrict the asked objects and distractors to these (e.g. a small test vocabulary) */
  objects?: readonly string[];
}

const TASK_ANSWERS: Record<SteeringTask, [string, string]> = {
  "clutter-lr": ["left", "right"], "clutter-ab": ["above", "below"], "grid-lr": ["left", "right"], "grid-ab": ["above", "below"],
  nearfar: ["near", "far"], inbetween: ["yes", "no"], frontbehind: ["front", "behind"],
};

/** The two answer words of a steering task. */
export function taskAnswers(task: SteeringTask): [string, string] {
  const a = TASK_ANSWERS[task];
  if (!a) throw new Error(`unknown steering task ${JSON.stringify(task)}; use one of ${STEERING_TASKS.join(", ")}`);
  return [...a] as [string, string];
}

async function restricted(task: SteeringTask, rng: ReturnType<typeof streamRng>, size: number, objects: readonly string[]) {
  const need = task === "inbetween" ? 3 : 2;
  if (objects.length < need) throw new Error(`steeringSamples: task ${task} needs ${need} objects, got ${objects.length}`);
  const [s, r, r2] = pickDistinct(rng, objects, need);
  const answers = taskAnswers(task);
  switch (task) {
    case "clutter-lr":
    case "clutter-ab": {
      const rest = objects.filter((o) => o !== s && o !== r);
      const distractors = pickDistinct(rng, rest, Math.min(rest.length, rng.int(4)));
      const c = await clutterScene(rng, { subject: s, reference: r, axis: task === "clutter-lr" ? "lr" : "ab", distractors, size });
      return { image: c.image, s, r, answer: c.relation, question: task === "clutter-lr" ? Q.leftRight(s, r) : Q.aboveBelow(s, r) };
    }
    case "nearfar": {
      const answer = answers[rng.int(2)] as "near" | "far";
      return { image: (await nearFarScene(rng, s, r, answer, size)).image, s, r, answer, question: Q.nearFar(s, r) };
    }
    case "frontbehind": {
      const answer = answers[rng.int(2)] as "front" | "behind";
      return { image: (await frontBehindScene(rng, s, r, answer, size)).image, s, r, answer, question: Q.frontBehind(s, r) };
    }
    case "inbetween": {
      const answer = answers[rng.int(2)] as "yes" | "no";
      return { image: (await inBetweenScene(rng, s, r, r2, answer, size)).image, s, r, r2, answer, question: Q.inBetween(s, r, r2) };
    }
    default:
      throw new Error(`steeringSamples: the "objects" restriction supports clutter-lr, clutter-ab, nearfar, inbetween and frontbehind, not ${task}`);
  }
}

/** n seeded questions of one task (scenes from src/data; the COCO-Spatial stand-in is clutter-lr / clutter-ab). */
export async function steeringSamples(task: SteeringTask, n: number, opts: SampleOptions): Promise<SteeringSample[]> {
  const answers = taskAnswers(task);
  if (!Number.isInteger(n) || n < 1) throw new Error(`steeringSamples: n must be a positive integer, got ${n}`);
  const seed = opts.seed ?? 42;
  const out: SteeringSample[] = [];
  for (let i = 0; i < n; i++) {
    const rng = streamRng(seed, "steering", task, i);
    if (opts.objects) {
      const s = await restricted(task, rng, opts.size, opts.objects);
      out.push({ task, index: i, image: s.image, question: s.question, subject: s.s, reference: s.r, reference2: s.r2, answer: s.answer, other: OPPOSITE[s.answer], answers });
    } else {
      const t = await getTask(task).generate({ rng, size: opts.size, split: opts.split ?? "train" });
      const [s, r, r2] = t.meta.objects;
      out.push({
        task, index: i, image: t.frames[0], question: t.meta.question, subject: s, reference: r,
        reference2: task === "inbetween" ? r2 : undefined, answer: t.meta.answer, other: OPPOSITE[t.meta.answer], answers,
      });
    }
  }
  return out;
}

/** The answer word of a greedy generation: the first non-special token, lowercased, without a word-start marker. */
export function firstAnswerWord(tokens: readonly string[]): string {
  for (const t of tokens) {
    if (/^<.*>$/.test(t)) continue;
    const w = t.replace(/^(▁|Ġ)/, "").trim().toLowerCase();
    if (w) return w;
  }
  return "";
}

/** Cell label "(x, y)" (x = column, y = row), as on the authors' x axes. */
export function cellName(c: { x: number; y: number }): string {
  return `(${c.x}, ${c.y})`;
}

export type { SiteName };

// ---------------------------------------------------------------------------------------------------------------
// IDs and models for the notebooks

export interface IdsForOptions {
  /** artefact variant suffix: out/universal-ids/<model>-<variant> (fig05 writes "ci" in CI mode) */
  variant?: string;
  /** objects of the IDs (default: the paper's ten); an artefact computed from other objects is not used */
  objects?: readonly string[];
  /** base path of the artefact instead of out/universal-ids/<model>[-variant] */
  path?: string;
  /** write a computed artefact (default true) */
  save?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const sameObjects = (a: unknown, b: readonly string[]): boolean =>
  Array.isArray(a) && a.length === b.length && [...a].map(String).sort().join("|") === [...b].sort().join("|");

/**
 * The model's universal IDs over `objects`: the artefact at out/universal-ids/<model>[-variant] (or `path`) when it
 * exists and was computed from the same objects (the fig05 notebook writes it), otherwise computed with spatialIds
 * (the same method) and saved there. `source` says which. Same objects → the same IDs either way (seeded tiles).
 */
export async function universalIdsFor(model: Model, opts: IdsForOptions = {}): Promise<UniversalIds & { source: string }> {
  const objects = opts.objects ?? PAPER_OBJECTS;
  if (objects.length < 2) throw new Error(`universalIdsFor: need at least 2 objects, got ${objects.length}`);
  const base = opts.path ?? universalIdsPath(model.name, opts.variant);
  let stale = "";
  if (existsSync(`${base}.json`) && existsSync(`${base}.safetensors`)) {
    const u = loadUniversalIds(base);
    if (u.dim !== model.width) throw new Error(`universal IDs at ${base} have width ${u.dim}, ${model.name} has ${model.width}: delete the stale artefact`);
    const hash = bundleHash(model.bundle.dir);
    if (u.info.bundleHash !== hash) stale = ` (the artefact there was computed on another version of the bundle: ${JSON.stringify(u.info.bundleHash ?? "unknown")} ≠ ${hash})`;
    else if (sameObjects(u.info.objects, objects)) return { ...u, source: `loaded ${base}.safetensors` };
    else stale = ` (the artefact there was computed from other objects: ${JSON.stringify(u.info.objects ?? "unknown")})`;
  }
  const r = await spatialIds(model, { objects, layers: Array.from({ length: model.numLayers }, (_, i) => i), keepPairs: [], onProgress: opts.onProgress });
  const u = toUniversalIds(r, { objects: [...objects], computedBy: "universalIdsFor (steering notebooks)" });
  const save = opts.save ?? true;
  if (save) saveUniversalIds(base, u);
  return { ...u, source: `computed from ${r.runs} traces (${r.pairs.length} pairs of ${objects.join(", ")})${save ? `, saved to ${base}.safetensors` : ""}${stale}` };
}

/**
 * Image-model bundles in `dir` (default data/models): every folder with a linmech.json whose family is not a video
 * family, the base model first and zoo checkpoints by their numeric suffix, plus `extra` names or paths. Fig 2 / Fig 9
 * iterate over these (the toy model and its zoo checkpoints).
 */
export function steeringModels(extra: readonly string[] = [], dir: string = modelsDir()): string[] {
  const found: string[] = [];
  if (existsSync(dir))
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const meta = join(dir, d.name, "linmech.json");
      if (!d.isDirectory() || !existsSync(meta)) continue;
      let family = "", derived = false;
      try {
        const j = JSON.parse(readFileSync(meta, "utf8"));
        family = String(j.family ?? "");
        derived = j.base !== undefined;
      } catch {
        throw new Error(`${meta} is not valid JSON; re-export or remove that bundle`);
      }
      // derived bundles (linmech.json "base": fine-tuned variants, data/models/toy-llava-sidft-*) are not zoo
      // members; pass them in `extra` to include them
      if (!family.includes("video") && !derived) found.push(d.name);
    }
  found.sort(zooOrder);
  for (const e of extra) if (e && !found.includes(e)) found.push(e);
  return found;
}

/** Sort key: base name first, then zoo members by their numeric suffix (toy-llava-zoo-250 < toy-llava-zoo-1500). */
function zooOrder(a: string, b: string): number {
  const num = (s: string) => Number(/-(\d+)$/.exec(s)?.[1] ?? -1);
  const fam = (s: string) => s.replace(/-zoo(-\d+)?$/, "").replace(/-\d+$/, "");
  return fam(a).localeCompare(fam(b)) || num(a) - num(b) || a.localeCompare(b);
}

/**
 * Objects for a model's scenes: undefined (the task's own training pool) when the tokenizer knows every training
 * object, otherwise the known ones (a bundle with a smaller vocabulary, e.g. the test fixture).
 */
export function sceneObjectsFor(model: Model): string[] | undefined {
  const unk = model.text.tokenToId("<unk>");
  const known = (w: string): boolean => {
    const t = model.text.wordTokens(w);
    return t.ids.length > 0 && (unk === undefined || !t.ids.includes(unk));
  };
  const pool = TRAIN_OBJECTS.filter(known);
  return pool.length === TRAIN_OBJECTS.length ? undefined : pool;
}

/**
 * Identity of a bundle for result caches: name, folder, and size + mtime of linmech.json and the decoder, so a
 * retrained or re-exported bundle never reuses an old result.
 */
export function bundleFingerprint(b: Model | { name: string; dir: string }): Record<string, unknown> {
  const dir = "bundle" in b ? b.bundle.dir : b.dir;
  const files: Record<string, [number, number]> = {};
  for (const f of ["linmech.json", join("onnx", "decoder_model_merged.onnx"), join("onnx", "vision_encoder.onnx")]) {
    const p = resolveBundleFile(dir, f); // a derived bundle's files may live in its base (engine/bundle.ts)
    if (p) {
      const st = statSync(p);
      files[f] = [st.size, Math.round(st.mtimeMs)];
    }
  }
  return { model: b.name, dir, files };
}
