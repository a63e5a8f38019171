// Shared input types and shape/NaN checks for src/analysis. Vectors are Float32Array, Float64Array or number[];
// matrices are row-major, given either as an array of row vectors or as { rows, cols, data } with a flat buffer.
import { Matrix } from "ml-matrix";

export type Vector = Float32Array | Float64Array | readonly number[];

/** A row-major matrix: element (i, j) is data[i * cols + j]. */
export interface RowMajor {
  rows: number;
  cols: number;
  data: Vector;
}

/** Either a list of equally long row vectors or a flat row-major buffer. */
export type MatrixInput = RowMajor | readonly Vector[];

/** A row-major float64 matrix returned by the analysis functions. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

function isRowMajor(m: MatrixInput): m is RowMajor {
  return !Array.isArray(m) && typeof (m as RowMajor).rows === "number";
}

/** Throws unless every entry is a finite number. */
export function assertFinite(v: Vector, what: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`${what}: entry ${i} is ${v[i]} (NaN or infinite values are not allowed)`);
  }
}

/** Copies a vector to float64 after checking its length (if given) and that it is finite. */
export function toVector(v: Vector, what: string, length?: number): Float64Array {
  if (length !== undefined && v.length !== length) throw new Error(`${what}: expected length ${length}, got ${v.length}`);
  assertFinite(v, what);
  return Float64Array.from(v);
}

/** Converts a matrix input to an ml-matrix Matrix, checking shape consistency and finiteness. */
export function toMatrix(m: MatrixInput, what: string): Matrix {
  if (isRowMajor(m)) {
    const { rows, cols, data } = m;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new Error(`${what}: rows and cols must be non-negative integers, got ${rows}×${cols}`);
    }
    if (data.length !== rows * cols) throw new Error(`${what}: ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
    assertFinite(data, what);
    const out = new Matrix(rows, cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.set(i, j, data[i * cols + j]);
    return out;
  }
  if (m.length === 0) throw new Error(`${what}: the matrix has no rows`);
  const cols = m[0].length;
  const out = new Matrix(m.length, cols);
  m.forEach((row, i) => {
    if (row.length !== cols) throw new Error(`${what}: row ${i} has ${row.length} values, row 0 has ${cols}`);
    for (let j = 0; j < cols; j++) {
      const x = row[j];
      if (!Number.isFinite(x)) throw new Error(`${what}: entry (${i}, ${j}) is ${x} (NaN or infinite values are not allowed)`);
      out.set(i, j, x);
    }
  });
  return out;
}

/** Converts an ml-matrix Matrix to the row-major result type. */
export function fromMatrix(m: Matrix): DenseMatrix {
  const data = new Float64Array(m.rows * m.columns);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) data[i * m.columns + j] = m.get(i, j);
  return { rows: m.rows, cols: m.columns, data };
}

/** Row i of a DenseMatrix as a copy. */
export function rowOf(m: DenseMatrix, i: number): Float64Array {
  if (!Number.isInteger(i) || i < 0 || i >= m.rows) throw new Error(`rowOf: row ${i} is outside 0..${m.rows - 1}`);
  return m.data.slice(i * m.cols, (i + 1) * m.cols);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}
