// Spatial IDs on an m × m grid (paper §3, reference spec §2.2–2.4). Cells are (x, y): x = column (0 = left),
// y = row (0 = top). A grid of IDs stores cell (x, y) in row y·m + x of an (m²) × d row-major buffer.
//
// Per pair (authors' compute_id.py): for each partner cell, the activations of the object word at every cell it
// occupies (all sizes jointly) are centred by their mean; each cell's ID is then the mean of its centred vectors
// over the partner cells. Since the partner's own cell is never occupied, each group holds K = m² − 1 cells; for
// activations that do not depend on the partner this gives exactly (K² − 1)/K² · (φ(c) − mean_c φ) — a pure scale
// (224/225 for m = 4) of ideal centring. The universal ID averages the per-pair IDs over pairs.
import { type MatrixInput, type Vector, toMatrix, toVector } from "./arrays";

export interface GridCell {
  /** Column, 0 = leftmost. */
  x: number;
  /** Row, 0 = top. */
  y: number;
}

export interface SpatialIdGrid {
  /** Grid side (4 in the paper). */
  m: number;
  /** Vector dimension. */
  dim: number;
  /** (m·m) × dim row-major; cell (x, y) is row y·m + x. */
  data: Float64Array;
}

/** One activation of the varying object's word: object `pair` member at `cell`, the partner object at `partnerCell`. */
export interface IdObservation {
  /** Identifies the ordered (partner, object) pair, e.g. "camel|frog". */
  pair: string;
  partnerCell: GridCell;
  cell: GridCell;
  /** Object size (the authors use 74/124/174/224 px); omit when there is a single size. */
  size?: number;
  vector: Vector;
}

function checkCell(c: GridCell, m: number, what: string): void {
  if (!Number.isInteger(c.x) || !Number.isInteger(c.y) || c.x < 0 || c.y < 0 || c.x >= m || c.y >= m) {
    throw new Error(`${what}: cell (${c.x}, ${c.y}) is outside the ${m}×${m} grid`);
  }
}

function checkGrid(g: SpatialIdGrid, what: string): void {
  if (g.data.length !== g.m * g.m * g.dim) throw new Error(`${what}: grid data has ${g.data.length} values, ${g.m}²×${g.dim} expected`);
}

/** Builds a grid from m² row vectors ordered by y·m + x (e.g. loaded from a safetensors artefact). */
export function spatialIdGrid(m: number, rows: MatrixInput): SpatialIdGrid {
  if (!Number.isInteger(m) || m < 1) throw new Error(`spatialIdGrid: m must be a positive integer, got ${m}`);
  const a = toMatrix(rows, "spatialIdGrid rows");
  if (a.rows !== m * m) throw new Error(`spatialIdGrid: ${m}×${m} grid needs ${m * m} rows, got ${a.rows}`);
  return { m, dim: a.columns, data: Float64Array.from(a.to1DArray()) };
}

/** The ID vector at a cell (a copy). */
export function gridId(grid: SpatialIdGrid, cell: GridCell): Float64Array {
  checkGrid(grid, "gridId");
  checkCell(cell, grid.m, "gridId");
  const r = cell.y * grid.m + cell.x;
  return grid.data.slice(r * grid.dim, (r + 1) * grid.dim);
}

/** U(a) − U(b): the steering vector that moves an object from cell b towards cell a. */
export function idDifference(grid: SpatialIdGrid, cellA: GridCell, cellB: GridCell): Float64Array {
  const a = gridId(grid, cellA);
  const b = gridId(grid, cellB);
  return a.map((t, i) => t - b[i]);
}

/** Mirror image of a cell: horizontal flips the column (x → m−1−x, Fig 6b/6c), vertical flips the row (Fig 6d, 7). */
export function mirrorCell(cell: GridCell, direction: "horizontal" | "vertical", m: number): GridCell {
  checkCell(cell, m, "mirrorCell");
  return direction === "horizontal" ? { x: m - 1 - cell.x, y: cell.y } : { x: cell.x, y: m - 1 - cell.y };
}

const sizeKey = (s: number | undefined): number => s ?? 0;

/**
 * Per-pair spatial IDs from one pair's observations (all must share `pair`). Centring is over each partner cell's
 * group (all sizes together); the returned grid is for `size` (required when observations have several sizes).
 * Throws if any cell of the chosen size has no observation.
 */
export function pairSpatialIds(observations: readonly IdObservation[], m: number, options: { size?: number } = {}): SpatialIdGrid {
  if (observations.length === 0) throw new Error("pairSpatialIds: no observations");
  const pair = observations[0].pair;
  const dim = observations[0].vector.length;
  const sizes = new Set(observations.map((o) => sizeKey(o.size)));
  let size: number;
  if (options.size !== undefined) {
    if (!sizes.has(options.size)) throw new Error(`pairSpatialIds: no observations of size ${options.size} (sizes: ${[...sizes].join(", ")})`);
    size = options.size;
  } else if (sizes.size === 1) {
    size = [...sizes][0];
  } else {
    throw new Error(`pairSpatialIds: observations have sizes ${[...sizes].join(", ")}; choose one with options.size`);
  }
  const groups = new Map<string, { obs: IdObservation; v: Float64Array }[]>();
  observations.forEach((o, i) => {
    if (o.pair !== pair) throw new Error(`pairSpatialIds: observation ${i} belongs to pair "${o.pair}", not "${pair}"; use universalSpatialIds`);
    checkCell(o.cell, m, `pairSpatialIds observation ${i}`);
    checkCell(o.partnerCell, m, `pairSpatialIds observation ${i} partner`);
    const v = toVector(o.vector, `pairSpatialIds observation ${i}`, dim);
    const key = `${o.partnerCell.x},${o.partnerCell.y}`;
    const g = groups.get(key) ?? [];
    g.push({ obs: o, v });
    groups.set(key, g);
  });
  const sum = new Float64Array(m * m * dim);
  const count = new Int32Array(m * m);
  for (const g of groups.values()) {
    const mu = new Float64Array(dim);
    for (const { v } of g) for (let j = 0; j < dim; j++) mu[j] += v[j] / g.length;
    for (const { obs, v } of g) {
      if (sizeKey(obs.size) !== size) continue;
      const r = obs.cell.y * m + obs.cell.x;
      for (let j = 0; j < dim; j++) sum[r * dim + j] += v[j] - mu[j];
      count[r]++;
    }
  }
  const missing: string[] = [];
  for (let r = 0; r < m * m; r++) {
    if (count[r] === 0) missing.push(`(${r % m}, ${Math.floor(r / m)})`);
    for (let j = 0; j < dim; j++) sum[r * dim + j] /= count[r];
  }
  if (missing.length > 0) throw new Error(`pairSpatialIds: pair "${pair}" has no observation (size ${size}) at cells ${missing.join(" ")}`);
  return { m, dim, data: sum };
}

/** Mean of several grids of the same shape. */
export function averageGrids(grids: readonly SpatialIdGrid[]): SpatialIdGrid {
  if (grids.length === 0) throw new Error("averageGrids: no grids");
  const { m, dim } = grids[0];
  const data = new Float64Array(m * m * dim);
  grids.forEach((g, i) => {
    checkGrid(g, `averageGrids grid ${i}`);
    if (g.m !== m || g.dim !== dim) throw new Error(`averageGrids: grid ${i} is ${g.m}×${g.m}×${g.dim}, grid 0 is ${m}×${m}×${dim}`);
    for (let k = 0; k < data.length; k++) data[k] += g.data[k] / grids.length;
  });
  return { m, dim, data };
}

/** Universal spatial IDs: per-pair IDs (see pairSpatialIds) averaged over all pairs, with equal weight per pair. */
export function universalSpatialIds(observations: readonly IdObservation[], m: number, options: { size?: number } = {}): SpatialIdGrid {
  const byPair = new Map<string, IdObservation[]>();
  for (const o of observations) {
    const list = byPair.get(o.pair) ?? [];
    list.push(o);
    byPair.set(o.pair, list);
  }
  if (byPair.size === 0) throw new Error("universalSpatialIds: no observations");
  return averageGrids([...byPair.values()].map((obs) => pairSpatialIds(obs, m, options)));
}

export interface SpatialAxes {
  /** Horizontal axis h_L: points rightward (increasing column). */
  h: Float64Array;
  /** Vertical axis v_L: points downward (increasing row index). */
  v: Float64Array;
}

/**
 * Axes from a grid: h = mean over rows y and column pairs x1 < x2 of U(x2, y) − U(x1, y); v likewise over columns
 * and row pairs. variant "authors" reproduces compute_axes.py, which also averages the zero terms x1 = x2 (pairs
 * x1 ∈ 0..m−2, x2 ∈ x1..m−1): the same direction, scaled by [m(m−1)/2] / [m(m+1)/2 − 1] (2/3 for m = 4).
 */
export function spatialAxes(grid: SpatialIdGrid, options: { variant?: "correct" | "authors" } = {}): SpatialAxes {
  checkGrid(grid, "spatialAxes");
  const { m, dim, data } = grid;
  if (m < 2) throw new Error("spatialAxes: the grid needs at least 2 columns and rows");
  const at = (x: number, y: number, j: number): number => data[(y * m + x) * dim + j];
  const h = new Float64Array(dim);
  const v = new Float64Array(dim);
  let pairsPerLine = 0;
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      pairsPerLine++;
      for (let line = 0; line < m; line++) {
        for (let j = 0; j < dim; j++) {
          h[j] += at(b, line, j) - at(a, line, j);
          v[j] += at(line, b, j) - at(line, a, j);
        }
      }
    }
  }
  const terms = options.variant === "authors" ? ((m * (m + 1)) / 2 - 1) * m : pairsPerLine * m;
  for (let j = 0; j < dim; j++) {
    h[j] /= terms;
    v[j] /= terms;
  }
  return { h, v };
}
