// Projection of activations onto the plane spanned by two axes (Fig 5, Fig 8a), as the authors' `project_onto_plane`:
// Gram–Schmidt u = x/|x|, v = (y − (y·u)u)/|y − (y·u)u|; coordinates (E·u, E·v); explained share =
// (var(c1) + var(c2)) / Σ_d var(E[:, d]) (population variances; the ratio is the same with n − 1).
import { type MatrixInput, type Vector, dot, norm, toMatrix, toVector } from "./arrays";

export interface PlaneProjection {
  /** Coordinate along u (the normalised first axis), one per row of E. */
  x: Float64Array;
  /** Coordinate along v (the second axis made orthogonal to u), one per row of E. */
  y: Float64Array;
  /** Orthonormal basis actually used. */
  u: Float64Array;
  v: Float64Array;
  /** (var(x) + var(y)) / total variance of E; NaN when E has a single row or no variance. */
  explained: number;
}

/** The orthonormal pair (u, v) that Gram–Schmidt gives for (xAxis, yAxis); throws if either is zero or they are parallel. */
export function gramSchmidtPlane(xAxis: Vector, yAxis: Vector, tolerance = 1e-10): { u: Float64Array; v: Float64Array } {
  const a = toVector(xAxis, "gramSchmidtPlane xAxis");
  const b = toVector(yAxis, "gramSchmidtPlane yAxis", a.length);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0) throw new Error("projectOntoPlane: xAxis is the zero vector");
  if (nb === 0) throw new Error("projectOntoPlane: yAxis is the zero vector");
  const u = a.map((t) => t / na);
  const c = dot(b, u);
  const w = b.map((t, i) => t - c * u[i]);
  const nw = norm(w);
  if (nw <= tolerance * nb) throw new Error("projectOntoPlane: xAxis and yAxis are parallel (no plane to project onto)");
  return { u, v: w.map((t) => t / nw) };
}

/** Projects the rows of E (n × d) onto the plane of (xAxis, yAxis). */
export function projectOntoPlane(E: MatrixInput, xAxis: Vector, yAxis: Vector): PlaneProjection {
  const m = toMatrix(E, "projectOntoPlane E");
  if (xAxis.length !== m.columns) throw new Error(`projectOntoPlane: axes have ${xAxis.length} dims, E has ${m.columns} columns`);
  const { u, v } = gramSchmidtPlane(xAxis, yAxis);
  const n = m.rows;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = m.getRow(i);
    x[i] = dot(row, u);
    y[i] = dot(row, v);
  }
  const varOf = (a: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    const mu = s / a.length;
    let q = 0;
    for (let i = 0; i < a.length; i++) q += (a[i] - mu) ** 2;
    return q / a.length;
  };
  let total = 0;
  for (let j = 0; j < m.columns; j++) total += varOf(m.getColumn(j));
  const explained = n > 1 && total > 0 ? (varOf(x) + varOf(y)) / total : NaN;
  return { x, y, u, v, explained };
}
