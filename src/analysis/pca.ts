// Centred PCA by singular value decomposition (ml-matrix), as sklearn's PCA that the authors use for Fig 10b
// (for wide data, n ≤ d, through the eigen-decomposition of the n × n Gram matrix, which gives the same factors):
// X − mean = U S Vᵀ; components = first k rows of Vᵀ; explained variance = s²/(n − 1); ratio = s² / Σ s².
// Component signs are arbitrary; `orientComponent` fixes one so that a given ordering is increasing (Fig 10b:
// frame 1 projects below frame 7).
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from "ml-matrix";
import { type DenseMatrix, type MatrixInput, toMatrix } from "./arrays";

export interface PcaResult {
  /** Column means of the training data (length d). */
  mean: Float64Array;
  /** k × d, orthonormal rows (principal axes). */
  components: DenseMatrix;
  /** Variance along each component, s²/(n − 1). */
  explainedVariance: Float64Array;
  /** Share of the total variance along each component. */
  explainedVarianceRatio: Float64Array;
  singularValues: Float64Array;
  /** n × k coordinates of the training rows. */
  projections: DenseMatrix;
}

function svdRoute(Xc: Matrix): { s: number[]; V: Matrix } {
  const svd = new SingularValueDecomposition(Xc, { autoTranspose: true });
  return { s: svd.diagonal, V: svd.rightSingularVectors };
}

/**
 * Wide data (n ≤ d, e.g. 440 activations of width 4096): eigen-decompose the n × n Gram matrix Xc Xcᵀ = U S² Uᵀ and
 * form V = Xcᵀ U S⁻¹ for the top k; much faster than a d-column SVD. Returns null (caller falls back to the SVD)
 * when one of the top k singular values is numerically zero, where V would be undefined.
 */
function gramRoute(Xc: Matrix, k: number): { s: number[]; V: Matrix } | null {
  const n = Xc.rows;
  const d = Xc.columns;
  const rows = Array.from({ length: n }, (_, i) => Float64Array.from(Xc.getRow(i)));
  const G = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let t = 0;
      const a = rows[i];
      const b = rows[j];
      for (let c = 0; c < d; c++) t += a[c] * b[c];
      G.set(i, j, t);
      G.set(j, i, t);
    }
  }
  const evd = new EigenvalueDecomposition(G, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((l, i) => [l, i] as const).sort((a, b) => b[0] - a[0]);
  const s = order.map(([l]) => Math.sqrt(Math.max(l, 0)));
  if (s[k - 1] <= Math.max(n, d) * Number.EPSILON * s[0] * 1e3) return null;
  const V = new Matrix(d, k);
  for (let c = 0; c < k; c++) {
    const col = order[c][1];
    const v = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const u = evd.eigenvectorMatrix.get(i, col) / s[c];
      const a = rows[i];
      for (let j = 0; j < d; j++) v[j] += a[j] * u;
    }
    for (let j = 0; j < d; j++) V.set(j, c, v[j]);
  }
  return { s, V };
}

export function pca(X: MatrixInput, k: number): PcaResult {
  const m = toMatrix(X, "pca X");
  const n = m.rows;
  const d = m.columns;
  if (n < 2) throw new Error(`pca: needs at least 2 rows, got ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) throw new Error(`pca: k must be an integer in 1..${Math.min(n, d)}, got ${k}`);
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += m.get(i, j);
    mean[j] = s / n;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m.set(i, j, m.get(i, j) - mean[j]);
  const { s, V } = (n <= d ? gramRoute(m, k) : null) ?? svdRoute(m);
  let total = 0;
  for (const t of s) total += t * t;
  if (total === 0) throw new Error("pca: X has no variance (all rows are equal)");
  const components = new Float64Array(k * d);
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) components[c * d + j] = V.get(j, c);
  const singularValues = Float64Array.from(s.slice(0, k));
  const explainedVariance = singularValues.map((t) => (t * t) / (n - 1));
  const explainedVarianceRatio = singularValues.map((t) => (t * t) / total);
  const model = { mean, components: { rows: k, cols: d, data: components } };
  return { ...model, explainedVariance, explainedVarianceRatio, singularValues, projections: projectWithPca(model, X) };
}

/** Coordinates of new rows (e.g. the "before"/"after" text markers of Fig 10b) in a fitted PCA. */
export function projectWithPca(model: Pick<PcaResult, "mean" | "components">, X: MatrixInput): DenseMatrix {
  const m = toMatrix(X, "projectWithPca X");
  const { rows: k, cols: d, data: C } = model.components;
  if (m.columns !== d) throw new Error(`projectWithPca: X has ${m.columns} columns, the PCA has ${d}`);
  const out = new Float64Array(m.rows * k);
  for (let i = 0; i < m.rows; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (m.get(i, j) - model.mean[j]) * C[c * d + j];
      out[i * k + c] = s;
    }
  }
  return { rows: m.rows, cols: k, data: out };
}

/**
 * Flips the sign of one component (and its projections) if needed so that row `lowRow` projects strictly below row
 * `highRow` (Fig 10b: frame 1 < frame 7). Returns a new result; throws if the two rows project to the same value.
 */
export function orientComponent(result: PcaResult, component: number, lowRow: number, highRow: number): PcaResult {
  const { rows: n, cols: k } = result.projections;
  if (!Number.isInteger(component) || component < 0 || component >= k) throw new Error(`orientComponent: component ${component} outside 0..${k - 1}`);
  for (const r of [lowRow, highRow]) if (!Number.isInteger(r) || r < 0 || r >= n) throw new Error(`orientComponent: row ${r} outside 0..${n - 1}`);
  const a = result.projections.data[lowRow * k + component];
  const b = result.projections.data[highRow * k + component];
  if (a === b) throw new Error(`orientComponent: rows ${lowRow} and ${highRow} project to the same value; no sign makes them ordered`);
  if (a < b) return result;
  const d = result.components.cols;
  const components = Float64Array.from(result.components.data);
  for (let j = 0; j < d; j++) components[component * d + j] *= -1;
  const projections = Float64Array.from(result.projections.data);
  for (let i = 0; i < n; i++) projections[i * k + component] *= -1;
  return {
    ...result,
    components: { rows: result.components.rows, cols: d, data: components },
    projections: { rows: n, cols: k, data: projections },
  };
}

/** Rescales values linearly to [0, 1] (Fig 10b strip); with `reference`, uses its min/max (so markers share the scale). */
export function minMaxNormalise(values: ArrayLike<number>, reference: ArrayLike<number> = values): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < reference.length; i++) {
    lo = Math.min(lo, reference[i]);
    hi = Math.max(hi, reference[i]);
  }
  if (!(hi > lo)) throw new Error("minMaxNormalise: the reference values are constant (or empty)");
  return Float64Array.from(values, (t) => (t - lo) / (hi - lo));
}
