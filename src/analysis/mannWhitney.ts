// Mann–Whitney U test (Fig 8a compares margins of correct vs wrong answers with it). Same conventions as
// scipy.stats.mannwhitneyu: the statistic is U1 = R1 − n1(n1+1)/2 of the first sample (R1 = its rank sum, ties
// averaged); "greater" tests whether x tends to exceed y. Normal approximation: mean n1n2/2, variance
// n1n2/12 · ((n+1) − Σ(t³−t)/(n(n−1))) (tie correction), continuity correction 0.5 toward the mean. Exact null
// distribution (counting arrangements) when asked, or by default when there are no ties and min(n1, n2) ≤ 8.
import { type Vector, assertFinite } from "./arrays";
import { rank, tieGroups } from "./stats";
import { normalSf } from "./normal";

export type Alternative = "two-sided" | "greater" | "less";

export interface MannWhitneyOptions {
  alternative?: Alternative;
  /** "auto" (default): exact when there are no ties and min(n1, n2) ≤ 8, else the normal approximation. */
  method?: "auto" | "exact" | "asymptotic";
  /** Continuity correction for the normal approximation (default true). */
  continuity?: boolean;
}

export interface MannWhitneyResult {
  /** U of the first sample (U1); U2 = n1·n2 − U1. */
  u: number;
  u2: number;
  n1: number;
  n2: number;
  p: number;
  alternative: Alternative;
  method: "exact" | "asymptotic";
  /** z score of the normal approximation (NaN for the exact method). */
  z: number;
  /** Common-language effect size U1 / (n1 n2) = P(x > y) + ½ P(x = y). */
  effectSize: number;
}

/** Null distribution of U for sizes (n1, n2) without ties: counts[u] = number of arrangements with U = u. */
function exactCounts(n1: number, n2: number): Float64Array {
  // f(i, j, u) = f(i−1, j, u−j) + f(i, j−1, u): the largest value belongs to x (adds j to U) or to y.
  const maxU = n1 * n2;
  let prev: Float64Array[] = [];
  for (let j = 0; j <= n2; j++) {
    const row = new Float64Array(maxU + 1);
    row[0] = 1; // i = 0: only U = 0
    prev.push(row);
  }
  for (let i = 1; i <= n1; i++) {
    const cur: Float64Array[] = [];
    const row0 = new Float64Array(maxU + 1);
    row0[0] = 1; // j = 0
    cur.push(row0);
    for (let j = 1; j <= n2; j++) {
      const row = new Float64Array(maxU + 1);
      const a = prev[j];
      const b = cur[j - 1];
      for (let u = 0; u <= i * j; u++) row[u] = (u >= j ? a[u - j] : 0) + b[u];
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n2];
}

export function mannWhitneyU(x: Vector, y: Vector, options: MannWhitneyOptions = {}): MannWhitneyResult {
  const alternative = options.alternative ?? "two-sided";
  const continuity = options.continuity ?? true;
  if (x.length === 0 || y.length === 0) throw new Error(`mannWhitneyU: both samples need ≥ 1 value (got ${x.length} and ${y.length})`);
  assertFinite(x, "mannWhitneyU x");
  assertFinite(y, "mannWhitneyU y");
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  const all = new Float64Array(n);
  all.set(x, 0);
  all.set(y, n1);
  const r = rank(all);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += r[i];
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const ties = tieGroups(all);
  let method: "exact" | "asymptotic";
  if (options.method === "exact") {
    if (ties.length > 0) throw new Error("mannWhitneyU: the exact method needs samples without ties; use method 'asymptotic'");
    if (n1 * n2 > 10000) throw new Error(`mannWhitneyU: exact distribution for n1·n2 = ${n1 * n2} is too large; use 'asymptotic'`);
    method = "exact";
  } else if (options.method === "asymptotic") {
    method = "asymptotic";
  } else {
    method = ties.length === 0 && Math.min(n1, n2) <= 8 ? "exact" : "asymptotic";
  }
  let p: number;
  let z = NaN;
  if (method === "exact") {
    const counts = exactCounts(n1, n2);
    let total = 0;
    for (const c of counts) total += c;
    // P(U ≥ u) for integer u
    const sfAtLeast = (u: number): number => {
      let s = 0;
      for (let k = Math.ceil(u - 1e-9); k < counts.length; k++) s += counts[k];
      return s / total;
    };
    if (alternative === "greater") p = sfAtLeast(u1);
    else if (alternative === "less") p = sfAtLeast(u2); // P(U1 ≤ u1) = P(U2 ≥ u2) by symmetry
    else p = Math.min(1, 2 * sfAtLeast(Math.max(u1, u2)));
  } else {
    const mu = (n1 * n2) / 2;
    const tieTerm = ties.reduce((s, t) => s + (t ** 3 - t), 0) / (n * (n - 1));
    const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm));
    if (sigma === 0) throw new Error("mannWhitneyU: all values are tied; the normal approximation is undefined");
    const cc = continuity ? 0.5 : 0;
    const stat = alternative === "greater" ? u1 : alternative === "less" ? u2 : Math.max(u1, u2);
    z = (stat - mu - cc) / sigma;
    p = normalSf(z);
    if (alternative === "two-sided") p = Math.min(1, 2 * p);
  }
  return { u: u1, u2, n1, n2, p, alternative, method, z, effectSize: u1 / (n1 * n2) };
}
