// Number formatting shared by the experiments' printed verdicts (one wording for every figure).

/** x with `digits` decimals; NaN / ±Infinity as their names. */
export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** A p-value: 3 decimals, or one significant digit in exponent form below 0.001. */
export function fmtP(p: number): string {
  return !Number.isFinite(p) ? String(p) : p < 1e-3 ? p.toExponential(1) : p.toFixed(3);
}
