// Ground-truth spatial ID of a real object (Fig 8a): bilinear interpolation of grid IDs at the object's normalised
// box centre (nx, ny) ∈ [0, 1]² (nx = centre x / image width, ny = centre y / image height).
//
// "centred" (default, correct): grid index i sits at the centre of its cell, (i + 0.5)/m, so fx = m·nx − 0.5,
// clamped to [0, m − 1]; a box centred in a cell gets exactly that cell's ID and the borders extrapolate flat.
// "authors" (coco.py `compute_spatial_id_from_bbox`): fx = m·nx, i.e. index i sits at i/m, half a cell left/up of
// its centre; x0 = ⌊fx⌋, x1 = min(x0 + 1, m − 1), weights (1 − wx)(1 − wy), …; corners whose index is m (nx or
// ny = 1) are silently dropped, so those weights no longer sum to 1.
import { gridId, type GridCell, type SpatialIdGrid } from "./spatialIds";

export type InterpolationVariant = "centred" | "authors";

export interface InterpolatedId {
  vector: Float64Array;
  /** The grid cells used and their weights (after dropping, for the authors' variant). */
  weights: { cell: GridCell; weight: number }[];
}

function corners(f: number, m: number, variant: InterpolationVariant): { i0: number; i1: number; w: number } {
  if (variant === "centred") {
    const c = Math.min(Math.max(f * m - 0.5, 0), m - 1);
    const i0 = Math.min(Math.floor(c), m - 1);
    const i1 = Math.min(i0 + 1, m - 1);
    return { i0, i1, w: c - i0 };
  }
  const c = f * m;
  const i0 = Math.floor(c);
  return { i0, i1: Math.min(i0 + 1, m - 1), w: c - i0 };
}

export function interpolateGridId(grid: SpatialIdGrid, nx: number, ny: number, variant: InterpolationVariant = "centred"): InterpolatedId {
  for (const [name, t] of [["nx", nx], ["ny", ny]] as const) {
    if (!(t >= 0 && t <= 1)) throw new Error(`interpolateGridId: ${name} must be a normalised coordinate in [0, 1], got ${t}`);
  }
  const { m, dim } = grid;
  const cx = corners(nx, m, variant);
  const cy = corners(ny, m, variant);
  const terms: { cell: GridCell; weight: number }[] = [
    { cell: { x: cx.i0, y: cy.i0 }, weight: (1 - cx.w) * (1 - cy.w) },
    { cell: { x: cx.i1, y: cy.i0 }, weight: cx.w * (1 - cy.w) },
    { cell: { x: cx.i0, y: cy.i1 }, weight: (1 - cx.w) * cy.w },
    { cell: { x: cx.i1, y: cy.i1 }, weight: cx.w * cy.w },
  ];
  const kept = terms.filter((t) => t.cell.x < m && t.cell.y < m);
  const vector = new Float64Array(dim);
  for (const { cell, weight } of kept) {
    if (weight === 0) continue;
    const id = gridId(grid, cell);
    for (let j = 0; j < dim; j++) vector[j] += weight * id[j];
  }
  return { vector, weights: kept };
}
