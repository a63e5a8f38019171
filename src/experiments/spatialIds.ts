// Fig 5 and the universal spatial IDs: what the spatial ID is.
//
// For each ordered pair (a = reference, b = subject) of objects, render b in every cell of the 4×4 grid with a in
// every other cell (16 × 15 tiles per size), ask "Is the b to the left or right of the a?", and read the residual
// stream at b's word (last sub-token, first occurrence) at every site. Per pair (analysis/spatialIds
// pairSpatialIds): centre within each partner cell's group (all sizes together), then average each cell over the
// partner cells → Δ^(b)(x, y). Universal IDs U_L(x, y) = mean over pairs. Axes h_L / v_L = mean within-row / within-
// column differences of U. Fig 5 projects the 16 IDs onto (h_L, v_L) with Gram–Schmidt and reports the explained
// variance share; "L"/"R" markers are the raw hidden states of "left"/"right" from a text-only run of the query.
// Passes: one trace per tile (batched, no prefix reuse: every tile has its own image, so no prefix is shared) +
// one text-only run.
//
// Deviations from the authors' code (reference-code-spec §2, §11) and why:
//  1. Query with articles, "Is the frog to the left or right of the camel?" (the toy model's training template and the
//     authors' Fig 5 query) for the universal IDs too; the authors' compute_id.py drops the articles.
//  2. Default sizes: only the full-cell size (the size-224 ≙ 224/224 case every downstream experiment uses), so one
//     universal pass costs 90 pairs × 240 tiles = 21,600 traces instead of 86,400. Passing several `sizes` restores
//     the authors' mixed-size centring; the grid is then reported for the largest size (their size-224 keys).
//  3. Axes without the zero x1 = x2 terms (spatialAxes "correct"); the authors' compute_axes.py includes them, which
//     only rescales the axes by 2/3 (`axesVariant: "authors"` reproduces it). Projections and explained variance
//     do not depend on the axes' lengths.
//  4. Canvas = the model's input size (64 px for toy-llava, one ViT patch per cell) on a black background, Twemoji
//     sprites instead of Objaverse renders; objects keep their aspect ratio inside the square sprite.
//  5. Token positions by tokenizing the chat-templated, image-expanded sequence (authors: string equality of the
//     last sub-token in the same sequence — equivalent; the first occurrence is used in both).
//  6. Also reported (not in the authors' code): per-layer Spearman correlations of the projected x with the column and
//     projected y with the row, for the universal IDs and for the Fig 5 pair, and the universal IDs of every site
//     stored as an artefact (universalIds.ts).
import type { Model } from "../engine/model";
import { resid, type SiteName } from "../engine/sites";
import { GRID, gridTile, type Cell } from "../data/grid";
import { PAPER_OBJECTS, checkObjectName } from "../data/objects";
import { Q } from "../data/questions";
import { pairSpatialIds, spatialAxes, type IdObservation, type SpatialIdGrid } from "../analysis/spatialIds";
import { projectOntoPlane } from "../analysis/projection";
import { spearman } from "../analysis/stats";
import { bundleHash, type UniversalIds } from "./universalIds";

export interface SpatialIdOptions {
  /** objects whose ordered pairs are used (default: the paper's ten) */
  objects?: readonly string[];
  /** explicit ordered pairs [reference a, subject b]; overrides `objects` */
  pairs?: readonly [string, string][];
  /** object sides in px (default: [cell side]) */
  sizes?: readonly number[];
  /** sites as block indices, −1 = hook_embed (default every site) */
  layers?: number[];
  /** pairs whose per-pair grids are kept in the result (keys "a|b"; default ["camel|frog"] when present) */
  keepPairs?: readonly string[];
  /** rows per session call (default 64) */
  batchSize?: number;
  chat?: boolean;
  /** called after each pair with (pairs done, pairs total) */
  onProgress?: (done: number, total: number) => void;
}

export interface SpatialIdResult {
  model: string;
  /** content hash of the bundle the IDs were read from (universalIds.bundleHash) */
  bundleHash: string;
  m: number;
  layers: number[];
  sites: SiteName[];
  pairs: string[];
  sizes: number[];
  /** size whose grid is reported (the largest) */
  size: number;
  canvas: number;
  /** universal IDs per layer (same order as layers) */
  universal: SpatialIdGrid[];
  /** kept per-pair grids: pair key → per layer */
  pairGrids: Record<string, SpatialIdGrid[]>;
  /** traces run (tiles) */
  runs: number;
  sessionCalls: number;
  seconds: number;
}

const pairKey = (a: string, b: string): string => `${a}|${b}`;

/** Every ordered pair (a, b), a ≠ b, in the authors' nesting order. */
export function orderedPairs(objects: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const a of objects) for (const b of objects) if (a !== b) out.push([a, b]);
  return out;
}

/** Traces b's word at every site for every tile of one pair; returns observations per layer. */
async function tracePair(
  model: Model, a: string, b: string, sizes: readonly number[], canvas: number, sites: SiteName[], batchSize: number, chat?: boolean,
): Promise<IdObservation[][]> {
  const prompt = Q.leftRight(b, a);
  const items = [];
  const meta: { cellA: Cell; cellB: Cell; size: number }[] = [];
  for (let ai = 0; ai < GRID * GRID; ai++)
    for (let bi = 0; bi < GRID * GRID; bi++) {
      if (ai === bi) continue;
      const cellA: Cell = [ai % GRID, Math.floor(ai / GRID)], cellB: Cell = [bi % GRID, Math.floor(bi / GRID)];
      for (const size of sizes) {
        const tile = await gridTile({ a, b, cellA, cellB, size, canvas });
        items.push({ input: await model.prepare({ image: tile.image, prompt, chat }) });
        meta.push({ cellA, cellB, size });
      }
    }
  const pos = items[0].input.positionOf(b);
  for (const it of items)
    if (it.input.positionOf(b) !== pos) throw new Error(`spatial IDs: pair ${a}|${b}: the word "${b}" moves between tiles`);
  const res = await model.patchBatch(items, { trace: sites.map((site) => ({ site, positions: pos })), prefixReuse: false, batchSize });
  return sites.map((site) =>
    res.map((r, k) => ({
      pair: pairKey(a, b),
      partnerCell: { x: meta[k].cellA[0], y: meta[k].cellA[1] },
      cell: { x: meta[k].cellB[0], y: meta[k].cellB[1] },
      size: meta[k].size,
      vector: r.get(site).row(0),
    })),
  );
}

/** Per-pair and universal spatial IDs at every requested site (see the header for the method). */
export async function spatialIds(model: Model, opts: SpatialIdOptions = {}): Promise<SpatialIdResult> {
  if (!model.instrumented) throw new Error("spatialIds: the model was loaded with instrumented: false");
  const canvas = model.meta.image_size;
  if (canvas % GRID !== 0) throw new Error(`spatialIds: the model's image size ${canvas} is not divisible by the ${GRID}×${GRID} grid`);
  const pairs = opts.pairs ? opts.pairs.map((p) => [...p] as [string, string]) : orderedPairs(opts.objects ?? PAPER_OBJECTS);
  if (pairs.length === 0) throw new Error("spatialIds: no object pairs");
  for (const [a, b] of pairs) {
    checkObjectName(a, "pair reference");
    checkObjectName(b, "pair subject");
    if (a === b) throw new Error(`spatialIds: pair (${a}, ${b}) uses the same object twice`);
  }
  const sizes = [...(opts.sizes ?? [canvas / GRID])];
  const size = Math.max(...sizes);
  const layers = opts.layers ?? [-1, ...Array.from({ length: model.numLayers }, (_, i) => i)];
  for (const L of layers) if (!Number.isInteger(L) || L < -1 || L >= model.numLayers) throw new Error(`spatialIds: layer ${L} is outside −1..${model.numLayers - 1}`);
  const sites = layers.map(resid);
  const keys = pairs.map(([a, b]) => pairKey(a, b));
  const keep = new Set(opts.keepPairs ?? (keys.includes("camel|frog") ? ["camel|frog"] : []));
  for (const k of keep) if (!keys.includes(k)) throw new Error(`spatialIds: keepPairs has "${k}", which is not among the pairs run`);
  const t0 = Date.now(), calls0 = model.sessionCalls;
  const sums: Float64Array[] = [];
  let dim = 0;
  const pairGrids: Record<string, SpatialIdGrid[]> = {};
  let runs = 0;
  for (let p = 0; p < pairs.length; p++) {
    const [a, b] = pairs[p];
    const obs = await tracePair(model, a, b, sizes, canvas, sites, opts.batchSize ?? 64, opts.chat);
    runs += obs[0].length;
    const grids = obs.map((o) => pairSpatialIds(o, GRID, { size }));
    if (p === 0) {
      dim = grids[0].dim;
      for (let k = 0; k < sites.length; k++) sums.push(new Float64Array(GRID * GRID * dim));
    }
    grids.forEach((g, k) => {
      for (let j = 0; j < g.data.length; j++) sums[k][j] += g.data[j];
    });
    if (keep.has(keys[p])) pairGrids[keys[p]] = grids;
    model.clearCaches();
    opts.onProgress?.(p + 1, pairs.length);
  }
  const universal = sums.map((s) => ({ m: GRID, dim, data: s.map((v) => v / pairs.length) }));
  return { model: model.name, bundleHash: bundleHash(model.bundle.dir), m: GRID, layers, sites, pairs: keys, sizes, size, canvas, universal, pairGrids, runs, sessionCalls: model.sessionCalls - calls0, seconds: (Date.now() - t0) / 1000 };
}

/** Raw (uncentred) hidden states of words in a text-only run of `prompt` at each layer (Fig 5's "L"/"R" markers). */
export async function textMarkers(model: Model, prompt: string, words: readonly string[], layers: number[], chat?: boolean): Promise<Record<string, Float32Array[]>> {
  const input = await model.prepare({ prompt, chat });
  const positions = words.map((w) => input.positionOf(w));
  const r = await model.trace(input, layers.map((L) => ({ site: resid(L), positions })), { prefixReuse: false });
  const out: Record<string, Float32Array[]> = {};
  words.forEach((w, k) => (out[w] = layers.map((L) => Float32Array.from(r.get(resid(L)).row(k)))));
  return out;
}

export interface GridProjection {
  layer: number;
  site: SiteName;
  /** projected coordinates of cell (x, y) at index y·m + x */
  px: number[];
  py: number[];
  /** (var px + var py) / total variance of the 16 IDs */
  explained: number;
  /** Spearman of px with the column and of py with the row (1 = order preserved; h points right, v down) */
  spearmanX: number;
  spearmanY: number;
  /** cosine between h and v (how orthogonal the axes are before Gram–Schmidt) */
  axesCosine: number;
  /** marker word → projected (x, y) */
  markers: Record<string, [number, number]>;
  axes: { h: Float64Array; v: Float64Array };
  /** orthonormal Gram–Schmidt basis of the plane (u ∥ h); empty when degenerate */
  basis: { u: Float64Array; v: Float64Array };
  /** true when the IDs are (numerically) zero or the axes are parallel, e.g. at hook_embed, where the word's
   * embedding cannot depend on the image: no plane exists, coordinates are 0 and the statistics NaN */
  degenerate: boolean;
}

const rowsOf = (g: SpatialIdGrid): Float64Array[] => Array.from({ length: g.m * g.m }, (_, r) => g.data.subarray(r * g.dim, (r + 1) * g.dim));

/** Projects one grid per layer onto its own (h, v) plane; markers (raw vectors per layer) are projected with the same basis. */
export function projectGrids(
  grids: readonly SpatialIdGrid[], layers: readonly number[], markers: Record<string, readonly Float32Array[]> = {}, axesVariant: "correct" | "authors" = "correct",
): GridProjection[] {
  if (grids.length !== layers.length) throw new Error(`projectGrids: ${grids.length} grids for ${layers.length} layers`);
  return grids.map((g, k) => {
    const axes = spatialAxes(g, { variant: axesVariant });
    const layer = layers[k];
    let maxAbs = 0;
    for (const x of g.data) maxAbs = Math.max(maxAbs, Math.abs(x));
    let pr: ReturnType<typeof projectOntoPlane> | undefined;
    if (maxAbs > 1e-6) {
      try {
        pr = projectOntoPlane(rowsOf(g), axes.h, axes.v);
      } catch {
        pr = undefined;
      }
    }
    if (!pr) {
      const zeros = new Array<number>(g.m * g.m).fill(0);
      const mk0: Record<string, [number, number]> = {};
      for (const w of Object.keys(markers)) mk0[w] = [NaN, NaN];
      return { layer, site: resid(layer), px: zeros, py: [...zeros], explained: NaN, spearmanX: NaN, spearmanY: NaN, axesCosine: NaN, markers: mk0, axes, basis: { u: new Float64Array(0), v: new Float64Array(0) }, degenerate: true };
    }
    const cols = Array.from({ length: g.m * g.m }, (_, r) => r % g.m), rows = Array.from({ length: g.m * g.m }, (_, r) => Math.floor(r / g.m));
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
      let s = 0;
      for (let j = 0; j < a.length; j++) s += a[j] * b[j];
      return s;
    };
    const mk: Record<string, [number, number]> = {};
    for (const [w, vs] of Object.entries(markers)) mk[w] = [dot(vs[k], pr.u), dot(vs[k], pr.v)];
    return {
      layer: layers[k],
      site: resid(layers[k]),
      px: Array.from(pr.x),
      py: Array.from(pr.y),
      explained: pr.explained,
      spearmanX: spearman(pr.x, cols),
      spearmanY: spearman(pr.y, rows),
      axesCosine: dot(axes.h, axes.v) / Math.sqrt(dot(axes.h, axes.h) * dot(axes.v, axes.v)),
      markers: mk,
      axes,
      basis: { u: pr.u, v: pr.v },
      degenerate: false,
    };
  });
}

/** The artefact the steering experiments load (see universalIds.ts for the format). */
export function toUniversalIds(r: SpatialIdResult, extraInfo: Record<string, unknown> = {}): UniversalIds {
  const grids: UniversalIds["grids"] = {};
  const axes: UniversalIds["axes"] = {};
  r.sites.forEach((site, k) => {
    grids[site] = r.universal[k];
    axes[site] = spatialAxes(r.universal[k]);
  });
  return {
    model: r.model,
    m: r.m,
    dim: r.universal[0].dim,
    sites: r.sites,
    grids,
    axes,
    info: {
      pairs: r.pairs,
      sizes: r.sizes,
      gridSize: r.size,
      canvas: r.canvas,
      question: "Is the {b} to the left or right of the {a}? (b = the varying subject whose word is read)",
      centring: "per pair: within each partner cell's group over all sizes, then mean over partner cells; then mean over pairs",
      axes: "mean within-row / within-column differences without zero terms (spatialAxes 'correct')",
      tiles: r.runs,
      bundleHash: r.bundleHash,
      ...extraInfo,
    },
  };
}

/** One line per layer: explained share, Spearman of projected x with the column and y with the row, axes cosine, markers. */
export function projectionTable(pr: readonly GridProjection[]): { layer: number; site: string; explained: number; spearmanX: number; spearmanY: number; axesCosine: number; leftX: number; rightX: number }[] {
  return pr.map((p) => ({
    layer: p.layer,
    site: p.site,
    explained: p.explained,
    spearmanX: p.spearmanX,
    spearmanY: p.spearmanY,
    axesCosine: p.axesCosine,
    leftX: p.markers.left?.[0] ?? NaN,
    rightX: p.markers.right?.[0] ?? NaN,
  }));
}

/**
 * The paper's Fig 5 claims, checked on the layers given: some layer's IDs form an ordered grid in the (h, v) plane
 * (Spearman of projected x with column and of y with row both ≥ 0.9), and the text-only "left" marker lies left of
 * "right" along h at that layer. Returns the best layer (highest min(spearmanX, spearmanY), ties → larger explained share).
 */
export function describeSpatialPattern(pr: readonly GridProjection[]): { best: GridProjection | undefined; checks: { name: string; pass: boolean; detail: string }[] } {
  const ok = pr.filter((p) => !p.degenerate);
  if (ok.length === 0) return { best: undefined, checks: [{ name: "spatial IDs exist", pass: false, detail: "every layer is degenerate (zero IDs)" }] };
  const score = (p: GridProjection): number => Math.min(p.spearmanX, p.spearmanY);
  const best = ok.reduce((a, b) => (score(b) > score(a) + 1e-12 || (Math.abs(score(b) - score(a)) <= 1e-12 && b.explained > a.explained) ? b : a));
  const ordered = ok.filter((p) => score(p) >= 0.9).map((p) => p.layer);
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
  const checks = [
    { name: "IDs form an ordered 4×4 grid in the (h, v) plane", pass: score(best) >= 0.9, detail: `best layer ${best.layer} (${best.site}): Spearman x~column ${f(best.spearmanX)}, y~row ${f(best.spearmanY)}, explained ${f(best.explained)}; layers with both ≥ 0.9: ${ordered.join(", ") || "none"}` },
  ];
  if (best.markers.left && best.markers.right) {
    // a clear separation, not a rounding-size one: at least 5% of the spread of the IDs along h
    const range = Math.max(...best.px) - Math.min(...best.px);
    const gap = best.markers.right[0] - best.markers.left[0];
    checks.push({ name: '"left" marker left of "right" along h (gap ≥ 5% of the ID x range)', pass: gap >= 0.05 * range, detail: `at layer ${best.layer}: x(left) = ${f(best.markers.left[0])}, x(right) = ${f(best.markers.right[0])}, gap ${f(gap)} = ${f((100 * gap) / range)}% of the ID x range ${f(Math.min(...best.px))}…${f(Math.max(...best.px))}` });
  }
  return { best, checks };
}
