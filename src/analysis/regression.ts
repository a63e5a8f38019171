// Reduced-rank regression Y ≈ X B with rank(B) ≤ r (the paper's rank-3 ψ → Δ fit, §2.6 of the reference spec;
// the authors' code has none). With centring (default): X̄, Ȳ are column means, Xc = X − X̄, Yc = Y − Ȳ.
// 1. OLS (minimum-norm when Xc is rank-deficient, optional ridge λ): B = V diag(s/(s² + λ)) Uᵀ Yc from Xc = U S Vᵀ;
//    singular values below max(n, p)·ε·s_max count as zero.
// 2. Fitted values Ŷ = Xc B; W_r = top-r right singular vectors of Ŷ; B_r = B W_r W_rᵀ (the Eckart–Young optimum
//    of the rank-r problem for identity weighting); predictions X̂ B_r + Ȳ.
// R² = 1 − SS_res / SS_tot summed over all output dimensions, SS_tot around the column means of Y.
// B is never formed unless asked for (p × q can be large); fits keep the factors A = V diag(s/(s² + λ)) Uᵀ (p × n).
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { type DenseMatrix, type MatrixInput, fromMatrix, toMatrix } from "./arrays";
import { type Rng, createRng, permutation } from "./rng";
import { mean, std } from "./stats";

export interface RrrOptions {
  /** Rank r of the coefficient matrix (1 ≤ r ≤ min(p, q)). */
  rank: number;
  /** Fit an intercept by centring X and Y (default true). */
  intercept?: boolean;
  /** Ridge penalty λ ≥ 0 on the OLS step (default 0: minimum-norm least squares). */
  ridge?: number;
}

export interface RrrFit {
  rank: number;
  intercept: boolean;
  ridge: number;
  n: number;
  p: number;
  q: number;
  /** In-sample fitted values (n × q). */
  fitted: DenseMatrix;
  /** In-sample R² over all output dimensions. */
  r2: number;
  /** Singular values of the full-rank (OLS) fitted values, centred; their squares show how many ranks matter. */
  fittedSingularValues: Float64Array;
  /** Internal factors for prediction. */
  readonly factors: { xMean: Float64Array; yMean: Float64Array; A: Matrix; Yc: Matrix; W: Matrix };
}

function columnMeans(m: Matrix): Float64Array {
  const out = new Float64Array(m.columns);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) out[j] += m.get(i, j) / m.rows;
  return out;
}

function subtractRow(m: Matrix, v: Float64Array): Matrix {
  const out = m.clone();
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) out.set(i, j, m.get(i, j) - v[j]);
  return out;
}

function r2Of(Y: Matrix, Yhat: Matrix, yMean: Float64Array): number {
  let res = 0;
  let tot = 0;
  for (let i = 0; i < Y.rows; i++) {
    for (let j = 0; j < Y.columns; j++) {
      res += (Y.get(i, j) - Yhat.get(i, j)) ** 2;
      tot += (Y.get(i, j) - yMean[j]) ** 2;
    }
  }
  if (tot === 0) throw new Error("rSquared: Y has no variance (SS_tot = 0)");
  return 1 - res / tot;
}

/** R² = 1 − Σ(Y − Ŷ)² / Σ(Y − Ȳ)² over all entries, Ȳ = column means of Y. */
export function rSquared(Y: MatrixInput, Yhat: MatrixInput): number {
  const y = toMatrix(Y, "rSquared Y");
  const yh = toMatrix(Yhat, "rSquared Yhat");
  if (y.rows !== yh.rows || y.columns !== yh.columns) throw new Error(`rSquared: Y is ${y.rows}×${y.columns}, Yhat is ${yh.rows}×${yh.columns}`);
  return r2Of(y, yh, columnMeans(y));
}

function fitMatrices(X: Matrix, Y: Matrix, options: RrrOptions): RrrFit {
  const n = X.rows;
  const p = X.columns;
  const q = Y.columns;
  if (Y.rows !== n) throw new Error(`reducedRankRegression: X has ${n} rows, Y has ${Y.rows}`);
  const intercept = options.intercept ?? true;
  const ridge = options.ridge ?? 0;
  const r = options.rank;
  if (!Number.isInteger(r) || r < 1 || r > Math.min(p, q)) throw new Error(`reducedRankRegression: rank must be an integer in 1..${Math.min(p, q)}, got ${r}`);
  if (!(ridge >= 0) || !Number.isFinite(ridge)) throw new Error(`reducedRankRegression: ridge must be finite and ≥ 0, got ${ridge}`);
  if (n < 2) throw new Error(`reducedRankRegression: needs at least 2 rows, got ${n}`);
  const xMean = intercept ? columnMeans(X) : new Float64Array(p);
  const yMean = intercept ? columnMeans(Y) : new Float64Array(q);
  const Xc = subtractRow(X, xMean);
  const Yc = subtractRow(Y, yMean);
  const sx = new SingularValueDecomposition(Xc, { autoTranspose: true });
  const s = sx.diagonal;
  const sMax = s.length > 0 ? Math.max(...s) : 0;
  if (sMax === 0) throw new Error("reducedRankRegression: X has no variance (all rows equal after centring)");
  const tol = Math.max(n, p) * Number.EPSILON * sMax;
  const U = sx.leftSingularVectors;
  const V = sx.rightSingularVectors;
  const k = s.length;
  // A = V diag(g) Uᵀ with g = s/(s² + λ) (0 for numerically zero s when λ = 0); H = Xc A = U diag(s g) Uᵀ.
  const VG = new Matrix(p, k);
  const US = new Matrix(n, k);
  for (let c = 0; c < k; c++) {
    const g = ridge === 0 ? (s[c] > tol ? 1 / s[c] : 0) : s[c] / (s[c] * s[c] + ridge);
    for (let i = 0; i < p; i++) VG.set(i, c, V.get(i, c) * g);
    for (let i = 0; i < n; i++) US.set(i, c, U.get(i, c) * s[c] * g);
  }
  const A = VG.mmul(U.transpose()); // p × n
  const H = US.mmul(U.transpose()); // n × n hat matrix
  const Yhat = H.mmul(Yc); // n × q
  const sy = new SingularValueDecomposition(Yhat, { autoTranspose: true });
  const Wall = sy.rightSingularVectors; // q × min(n, q)
  const W = Wall.subMatrix(0, q - 1, 0, Math.min(r, Wall.columns) - 1);
  const fittedC = Yhat.mmul(W).mmul(W.transpose());
  const fitted = subtractRow(fittedC, yMean.map((t) => -t));
  return {
    rank: r,
    intercept,
    ridge,
    n,
    p,
    q,
    fitted: fromMatrix(fitted),
    r2: r2Of(Y, fitted, columnMeans(Y)),
    fittedSingularValues: Float64Array.from(sy.diagonal),
    factors: { xMean, yMean, A, Yc, W },
  };
}

/** Fits Y (n × q) ≈ X (n × p) B + intercept with rank(B) ≤ options.rank. */
export function reducedRankRegression(X: MatrixInput, Y: MatrixInput, options: RrrOptions): RrrFit {
  return fitMatrices(toMatrix(X, "reducedRankRegression X"), toMatrix(Y, "reducedRankRegression Y"), options);
}

function predictMatrix(fit: RrrFit, X: Matrix): Matrix {
  if (X.columns !== fit.p) throw new Error(`predictRrr: X has ${X.columns} columns, the fit has ${fit.p}`);
  const { xMean, yMean, A, Yc, W } = fit.factors;
  const out = subtractRow(X, xMean).mmul(A).mmul(Yc).mmul(W).mmul(W.transpose());
  return subtractRow(out, yMean.map((t) => -t));
}

/** Predictions X B_r + intercept for new rows. */
export function predictRrr(fit: RrrFit, X: MatrixInput): DenseMatrix {
  return fromMatrix(predictMatrix(fit, toMatrix(X, "predictRrr X")));
}

/** The explicit p × q coefficient matrix B_r (can be large). */
export function rrrCoefficients(fit: RrrFit): DenseMatrix {
  const { A, Yc, W } = fit.factors;
  return fromMatrix(A.mmul(Yc).mmul(W).mmul(W.transpose()));
}

/** In-sample R² for each rank (e.g. ranks 1–5 of the ψ → Δ fit). */
export function r2ByRank(X: MatrixInput, Y: MatrixInput, ranks: readonly number[], options: Omit<RrrOptions, "rank"> = {}): { rank: number; r2: number }[] {
  const x = toMatrix(X, "r2ByRank X");
  const y = toMatrix(Y, "r2ByRank Y");
  return ranks.map((rank) => ({ rank, r2: fitMatrices(x, y, { ...options, rank }).r2 }));
}

function leaveOut(x: Matrix, y: Matrix, options: RrrOptions, groups: readonly (string | number)[]): { r2: number; predictions: Matrix } {
  const n = x.rows;
  if (groups.length !== n) throw new Error(`leaveOneOutR2: ${groups.length} group labels for ${n} rows`);
  const labels = [...new Set(groups)];
  if (labels.length < 2) throw new Error("leaveOneOutR2: needs at least 2 groups");
  const pred = new Matrix(n, y.columns);
  for (const g of labels) {
    const test = groups.flatMap((h, i) => (h === g ? [i] : []));
    const train = groups.flatMap((h, i) => (h === g ? [] : [i]));
    const fit = fitMatrices(x.selection(train, [...Array(x.columns).keys()]), y.selection(train, [...Array(y.columns).keys()]), options);
    const p = predictMatrix(fit, x.selection(test, [...Array(x.columns).keys()]));
    test.forEach((row, t) => pred.setRow(row, p.getRow(t)));
  }
  return { r2: r2Of(y, pred, columnMeans(y)), predictions: pred };
}

/**
 * Cross-validated R²: each group (default: each row, i.e. each cell) is predicted from a fit on the other rows;
 * R² = 1 − Σ‖y_i − ŷ_(−i)‖² / Σ‖y_i − Ȳ‖² with Ȳ the full-sample column means (PRESS form; can be negative).
 */
export function leaveOneOutR2(X: MatrixInput, Y: MatrixInput, options: RrrOptions & { groups?: readonly (string | number)[] }): { r2: number; predictions: DenseMatrix } {
  const x = toMatrix(X, "leaveOneOutR2 X");
  const y = toMatrix(Y, "leaveOneOutR2 Y");
  const groups = options.groups ?? Array.from({ length: x.rows }, (_, i) => i);
  const { r2, predictions } = leaveOut(x, y, options, groups);
  return { r2, predictions: fromMatrix(predictions) };
}

export interface ShuffledNull {
  observed: number;
  null: Float64Array;
  nullMean: number;
  /** Population std of the null R² values. */
  nullStd: number;
  /** (1 + #{null ≥ observed}) / (1 + permutations). */
  p: number;
}

/**
 * Null distribution of R² with the rows of Y shuffled relative to X (seeded permutations): statistic "inSample"
 * (default) or "leaveOneOut" (the group labels stay with the rows of X). Report nullMean ± nullStd next to observed.
 */
export function shuffledNullR2(
  X: MatrixInput,
  Y: MatrixInput,
  options: RrrOptions & { permutations?: number; seed?: number; rng?: Rng; statistic?: "inSample" | "leaveOneOut"; groups?: readonly (string | number)[] },
): ShuffledNull {
  const x = toMatrix(X, "shuffledNullR2 X");
  const y = toMatrix(Y, "shuffledNullR2 Y");
  const nPerm = options.permutations ?? 100;
  if (!Number.isInteger(nPerm) || nPerm < 1) throw new Error(`shuffledNullR2: permutations must be a positive integer, got ${nPerm}`);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const statistic = options.statistic ?? "inSample";
  const groups = options.groups ?? Array.from({ length: x.rows }, (_, i) => i);
  const stat = (yy: Matrix): number => (statistic === "inSample" ? fitMatrices(x, yy, options).r2 : leaveOut(x, yy, options, groups).r2);
  const observed = stat(y);
  const cols = [...Array(y.columns).keys()];
  const values = new Float64Array(nPerm);
  for (let t = 0; t < nPerm; t++) values[t] = stat(y.selection(permutation(y.rows, rng), cols));
  let atLeast = 0;
  for (const v of values) if (v >= observed) atLeast++;
  return { observed, null: values, nullMean: mean(values), nullStd: std(values), p: (1 + atLeast) / (1 + nPerm) };
}
