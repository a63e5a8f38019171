// ψ → Δ regression: is the spatial ID a fixed linear map of the position encoding? (paper: rank-3 fit, R² ≳ 0.85;
// the authors' code has no such fit, reference-code-spec §2.6, §10.8 — this design is ours.)
//
// Analytic sketch (paper §3): image token x_p = s_p + P ψ(p) + ε_p; attention that peaks on the object's patch
// writes Δ_L(i, j) ≈ W_out W_V P (ψ(i, j) − mean_p ψ(p)) = M ψ̃(i, j) into the object word. Test: regress the 16
// universal IDs Δ_L(cell) (universalIds artefact) on a position basis ψ̃(cell) with reduced-rank regression
// (analysis/regression), ranks 1–5, at every site.
//   ψ choices:
//   - "posEmbed": the vision tower's learned position-embedding table (read from vision_encoder.onnx), averaged over
//     the patches whose centres fall in the cell, centred over the 16 cells. (Rotary-position families have no
//     table; for them use "projected".)
//   - "projected": the model's own P ψ — the decoder-input (hook_embed) image-token vectors, averaged over a set of
//     images at each patch, pooled per cell and centred over cells. With x_p = s_p + Pψ(p) + ε_p and content that is
//     uniform over positions, the image average leaves P ψ(p) + const, i.e. ψ already pushed through the vision tower
//     and projector; the remaining W_out W_V is what the RRR fits.
//   Both are reduced to their top `components` principal components (default 5) before fitting: with 16 cells and a
//   ψ of ≥ 15 dimensions, least squares interpolates any Δ (in-sample R² = 1 for every shuffle), so an unreduced fit
//   says nothing. Rank r ≤ components.
//   Reported per site and rank: in-sample R² (1 − SS_res/SS_tot over all 16 × d entries), leave-one-cell-out R²
//   (each cell predicted from the other 15, PRESS form, can be < 0), and a shuffled-cell null (ψ rows permuted
//   relative to Δ, seeded): mean ± std of both statistics and p = (1 + #null ≥ observed)/(1 + permutations).
// Deviations from the paper: the paper gives no procedure; every choice above (pooling, centring, PCA reduction,
// null, cross-validation) is ours and is listed here. Δ comes from our universal IDs (see spatialIds.ts for how
// those differ from the authors').
import { existsSync, readFileSync } from "node:fs";
import type { Model } from "../engine/model";
import { decodeModel, toNumber, type TensorProto } from "../engine/onnxProto";
import { resid } from "../engine/sites";
import { GRID } from "../data/grid";
import { pca } from "../analysis/pca";
import { leaveOneOutR2, predictRrr, reducedRankRegression, shuffledNullR2 } from "../analysis/regression";
import type { SpatialIdGrid } from "../analysis/spatialIds";
import { join, dirname } from "node:path";

export interface PositionTable {
  /** initializer name in vision_encoder.onnx */
  name: string;
  /** rows of the table (CLS first when hasCls) */
  rows: Float32Array[];
  width: number;
  hasCls: boolean;
  /** patches per side */
  grid: number;
}

function tensorFloats(t: TensorProto, onnxPath: string): Float32Array {
  const n = (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
  if (t.data_type !== 1) throw new Error(`position table ${t.name}: data type ${t.data_type} is not float32`);
  if (t.raw_data && t.raw_data.length > 0) {
    const b = Buffer.from(t.raw_data);
    const out = new Float32Array(n);
    Buffer.from(out.buffer).set(b.subarray(0, n * 4));
    return out;
  }
  if (t.float_data && t.float_data.length > 0) return Float32Array.from(t.float_data);
  if (t.data_location === 1) {
    const kv = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
    const file = join(dirname(onnxPath), kv.location ?? "");
    if (!kv.location || !existsSync(file)) throw new Error(`position table ${t.name}: external data file ${file} not found`);
    const off = Number(kv.offset ?? 0);
    const b = readFileSync(file).subarray(off, off + n * 4);
    const out = new Float32Array(n);
    Buffer.from(out.buffer).set(b);
    return out;
  }
  throw new Error(`position table ${t.name}: no tensor data`);
}

/** The vision tower's learned position-embedding table (CLIP/SigLIP-style), found by name in vision_encoder.onnx. */
export function positionEmbeddingTable(model: Model): PositionTable {
  const path = model.bundle.onnx.vision;
  const proto = decodeModel(readFileSync(path), path);
  const cands = proto.graph.initializer.filter((t) => /position_embedding(\.weight)?$/.test(t.name ?? "") && (t.dims ?? []).length === 2);
  if (cands.length === 0)
    throw new Error(`${path} has no learned position-embedding table (an initializer named *position_embedding.weight); for rotary-position vision towers use psi "projected"`);
  const t = cands[0];
  const [n, w] = (t.dims ?? []).map(toNumber);
  const flat = tensorFloats(t, path);
  const rows = Array.from({ length: n }, (_, i) => flat.subarray(i * w, (i + 1) * w));
  const g1 = Math.round(Math.sqrt(n - 1)), g0 = Math.round(Math.sqrt(n));
  if (g1 * g1 === n - 1) return { name: t.name!, rows, width: w, hasCls: true, grid: g1 };
  if (g0 * g0 === n) return { name: t.name!, rows, width: w, hasCls: false, grid: g0 };
  throw new Error(`position table ${t.name} has ${n} rows: neither a square patch grid nor CLS + a square grid`);
}

/** Averages per-patch vectors (row-major patch grid g × g) over the patches whose centres fall in each cell of an m × m grid. */
export function poolPatchesToCells(patches: ArrayLike<number>[], g: number, m = GRID): Float64Array[] {
  if (patches.length !== g * g) throw new Error(`poolPatchesToCells: ${patches.length} patch vectors for a ${g}×${g} grid`);
  if (g < m) throw new Error(`poolPatchesToCells: ${g}×${g} patches cannot cover a ${m}×${m} grid`);
  const d = patches[0].length;
  const sums = Array.from({ length: m * m }, () => new Float64Array(d));
  const counts = new Array<number>(m * m).fill(0);
  for (let pr = 0; pr < g; pr++)
    for (let pc = 0; pc < g; pc++) {
      const cx = Math.floor(((pc + 0.5) * m) / g), cy = Math.floor(((pr + 0.5) * m) / g);
      const c = cy * m + cx;
      const v = patches[pr * g + pc];
      for (let j = 0; j < d; j++) sums[c][j] += v[j];
      counts[c]++;
    }
  return sums.map((s, c) => s.map((x) => x / counts[c]));
}

/** Subtracts the mean over rows. */
export function centreRows(rows: ArrayLike<number>[]): Float64Array[] {
  const d = rows[0].length, n = rows.length;
  const mu = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += r[j] / n;
  return rows.map((r) => Float64Array.from({ length: d }, (_, j) => r[j] - mu[j]));
}

/** ψ̃(cell) from the learned position table: pooled per cell, centred over cells. */
export function psiFromPositionTable(t: PositionTable, m = GRID): Float64Array[] {
  const patches = t.hasCls ? t.rows.slice(1) : t.rows;
  return centreRows(poolPatchesToCells(patches, t.grid, m));
}

/**
 * ψ̃ through the model's own P: hook_embed image-token vectors averaged over `images`, pooled per cell, centred.
 * Needs one image token per patch in row-major order (LLaVA-style; not merged/tiled tokens).
 */
export async function psiProjected(model: Model, images: { image: import("../engine/image").ImageSource; prompt: string }[], m = GRID, batchSize = 32): Promise<Float64Array[]> {
  if (images.length === 0) throw new Error("psiProjected: no images");
  const T = model.meta.tokens_per_image, g = Math.round(Math.sqrt(T));
  if (g * g !== T) throw new Error(`psiProjected: ${T} image tokens are not a square patch grid`);
  const items = [];
  for (const im of images) items.push({ input: await model.prepare({ image: im.image, prompt: im.prompt }) });
  const pos = items[0].input.imageTokens();
  if (pos.length !== T) throw new Error(`psiProjected: the input has ${pos.length} image tokens, the bundle says ${T}`);
  const res = await model.patchBatch(items, { trace: [{ site: "hook_embed", positions: pos }], prefixReuse: false, batchSize });
  const d = model.width;
  const mean = Array.from({ length: T }, () => new Float64Array(d));
  for (const r of res) {
    const a = r.get("hook_embed");
    for (let k = 0; k < T; k++) {
      const row = a.row(k);
      for (let j = 0; j < d; j++) mean[k][j] += row[j] / res.length;
    }
  }
  return centreRows(poolPatchesToCells(mean, g, m));
}

/** Top-k principal-component scores of centred rows (k ≤ rows − 1), and the variance share they keep. */
export function reducePsi(psi: Float64Array[], k: number): { scores: Float64Array[]; kept: number } {
  if (!Number.isInteger(k) || k < 1 || k > psi.length - 1) throw new Error(`reducePsi: components must be in 1..${psi.length - 1}, got ${k}`);
  const r = pca(psi, k);
  const scores = Array.from({ length: psi.length }, (_, i) => Float64Array.from({ length: k }, (_, c) => r.projections.data[i * k + c]));
  return { scores, kept: Array.from(r.explainedVarianceRatio).reduce((a, b) => a + b, 0) };
}

export interface PsiFitOptions {
  ranks?: number[];
  /** principal components of ψ kept (default 5) */
  components?: number;
  permutations?: number;
  seed?: number;
  /** rank at which the null is computed (default 3) */
  nullRank?: number;
}

export interface PsiLayerFit {
  layer: number;
  site: string;
  /** in-sample R² per rank */
  r2: number[];
  /** leave-one-cell-out R² per rank */
  looR2: number[];
  /** shuffled-cell null of the in-sample R² at every rank (same permutations for each rank) */
  nullInSampleByRank: { mean: number; std: number; p: number }[];
  /** shuffled-cell null at nullRank */
  nullInSample: { mean: number; std: number; p: number };
  nullLoo: { mean: number; std: number; p: number };
  /** fitted Δ at nullRank (16 × d rows), for plotting */
  fittedAtNullRank: Float64Array[];
  /** Δ is zero at this site (hook_embed): every statistic is NaN */
  degenerate: boolean;
}

export interface PsiFitResult {
  ranks: number[];
  components: number;
  /** variance share of ψ kept by the components */
  psiVarianceKept: number;
  nullRank: number;
  permutations: number;
  layers: PsiLayerFit[];
}

const gridRows = (g: SpatialIdGrid): Float64Array[] => Array.from({ length: g.m * g.m }, (_, r) => g.data.slice(r * g.dim, (r + 1) * g.dim));

/** RRR of Δ_L on ψ̃ at every layer (grids[k] is the universal-ID grid of layers[k]). */
export function fitPsiToIds(psi: Float64Array[], grids: readonly SpatialIdGrid[], layers: readonly number[], opts: PsiFitOptions = {}): PsiFitResult {
  if (grids.length !== layers.length) throw new Error(`fitPsiToIds: ${grids.length} grids for ${layers.length} layers`);
  const components = opts.components ?? 5;
  const ranks = opts.ranks ?? [1, 2, 3, 4, 5].filter((r) => r <= components);
  for (const r of ranks) if (r < 1 || r > components) throw new Error(`fitPsiToIds: rank ${r} is outside 1..${components} (the ψ components kept)`);
  const nullRank = opts.nullRank ?? Math.min(3, components);
  const permutations = opts.permutations ?? 200;
  for (const g of grids) if (g.m * g.m !== psi.length) throw new Error(`fitPsiToIds: ψ has ${psi.length} cells, the grid ${g.m * g.m}`);
  const { scores, kept } = reducePsi(psi, components);
  const out: PsiLayerFit[] = grids.map((g, k) => {
    const Y = gridRows(g);
    let maxAbs = 0;
    for (const x of g.data) maxAbs = Math.max(maxAbs, Math.abs(x));
    if (maxAbs <= 1e-6) {
      // e.g. hook_embed: the word's embedding cannot depend on the image, Δ = 0 and R² is undefined
      const nan = { mean: NaN, std: NaN, p: NaN };
      return { layer: layers[k], site: resid(layers[k]), r2: ranks.map(() => NaN), looR2: ranks.map(() => NaN), nullInSampleByRank: ranks.map(() => nan), nullInSample: nan, nullLoo: nan, fittedAtNullRank: Y.map((r) => r.map(() => 0)), degenerate: true };
    }
    const r2 = ranks.map((rank) => reducedRankRegression(scores, Y, { rank }).r2);
    const looR2 = ranks.map((rank) => leaveOneOutR2(scores, Y, { rank }).r2);
    const byRank = ranks.map((rank) => shuffledNullR2(scores, Y, { rank, permutations, seed: opts.seed ?? 0 }));
    const nIn = byRank[ranks.indexOf(nullRank)] ?? shuffledNullR2(scores, Y, { rank: nullRank, permutations, seed: opts.seed ?? 0 });
    const nLoo = shuffledNullR2(scores, Y, { rank: nullRank, permutations, seed: opts.seed ?? 0, statistic: "leaveOneOut" });
    const fit = reducedRankRegression(scores, Y, { rank: nullRank });
    const pred = predictRrr(fit, scores);
    return {
      layer: layers[k],
      site: resid(layers[k]),
      r2,
      looR2,
      nullInSampleByRank: byRank.map((b) => ({ mean: b.nullMean, std: b.nullStd, p: b.p })),
      nullInSample: { mean: nIn.nullMean, std: nIn.nullStd, p: nIn.p },
      nullLoo: { mean: nLoo.nullMean, std: nLoo.nullStd, p: nLoo.p },
      fittedAtNullRank: Array.from({ length: pred.rows }, (_, i) => pred.data.slice(i * pred.cols, (i + 1) * pred.cols)),
      degenerate: false,
    };
  });
  return { ranks, components, psiVarianceKept: kept, nullRank, permutations, layers: out };
}

/** The paper's claim (rank-3 fit, R² ≳ 0.85) checked per layer with the cross-validated and null numbers beside it. */
export function describePsiFit(f: PsiFitResult, claimRank = 3, claimR2 = 0.85): { name: string; pass: boolean; detail: string }[] {
  const k = f.ranks.indexOf(claimRank);
  if (k < 0) return [{ name: `rank-${claimRank} fit`, pass: false, detail: `rank ${claimRank} was not fitted (ranks ${f.ranks.join(", ")})` }];
  const ok = f.layers.filter((l) => !l.degenerate);
  if (ok.length === 0) return [{ name: `rank-${claimRank} fit`, pass: false, detail: "no layer with non-zero IDs" }];
  const best = ok.reduce((a, b) => (b.r2[k] > a.r2[k] ? b : a));
  const bestLoo = ok.reduce((a, b) => (b.looR2[k] > a.looR2[k] ? b : a));
  const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
  const above = ok.filter((l) => l.r2[k] >= claimR2).map((l) => l.layer);
  return [
    { name: `in-sample rank-${claimRank} R² ≥ ${claimR2} at some layer`, pass: best.r2[k] >= claimR2, detail: `best ${fmt(best.r2[k])} at layer ${best.layer} (null ${fmt(best.nullInSample.mean)} ± ${fmt(best.nullInSample.std)}, p = ${fmt(best.nullInSample.p)}); layers ≥ ${claimR2}: ${above.join(", ") || "none"}` },
    { name: `rank-${claimRank} fit beats the shuffled-cell null out of sample`, pass: bestLoo.looR2[k] > bestLoo.nullLoo.mean + 2 * bestLoo.nullLoo.std && bestLoo.nullLoo.p < 0.05, detail: `best leave-one-cell-out R² ${fmt(bestLoo.looR2[k])} at layer ${bestLoo.layer} vs null ${fmt(bestLoo.nullLoo.mean)} ± ${fmt(bestLoo.nullLoo.std)} (p = ${fmt(bestLoo.nullLoo.p)})` },
  ];
}
