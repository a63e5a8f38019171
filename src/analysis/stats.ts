// Summary statistics. Every function rejects NaN/Inf inputs with an error (callers filter first, e.g. with
// `finiteValues`). "Population" statistics divide by n (numpy's default ddof=0, which the authors' notebooks use
// for error bars); "sample" statistics divide by n − 1.
import { type Vector, assertFinite } from "./arrays";

function checked(x: Vector, what: string, minLength = 1): Vector {
  if (x.length < minLength) throw new Error(`${what}: needs at least ${minLength} value(s), got ${x.length}`);
  assertFinite(x, what);
  return x;
}

/** The finite entries of x, and how many were dropped (NaN or ±Inf). */
export function finiteValues(x: Vector): { values: number[]; dropped: number } {
  const values: number[] = [];
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) values.push(x[i]);
  return { values, dropped: x.length - values.length };
}

export function mean(x: Vector): number {
  checked(x, "mean");
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

export type Ddof = "population" | "sample";

/** Variance: population (÷n, default) or sample (÷(n−1)). */
export function variance(x: Vector, kind: Ddof = "population"): number {
  checked(x, "variance", kind === "sample" ? 2 : 1);
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / (kind === "sample" ? x.length - 1 : x.length);
}

/** Standard deviation: population (÷n, default, numpy `std`) or sample (÷(n−1)). */
export function std(x: Vector, kind: Ddof = "population"): number {
  return Math.sqrt(variance(x, kind));
}

/** Standard error of the mean: sample std / √n (n ≥ 2). */
export function sem(x: Vector): number {
  return std(x, "sample") / Math.sqrt(x.length);
}

/** Median (mean of the two middle values for even n). */
export function median(x: Vector): number {
  return quantile(x, 0.5);
}

/** Quantile with linear interpolation between order statistics (numpy's default "linear" method). */
export function quantile(x: Vector, q: number): number {
  checked(x, "quantile");
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const s = Array.from(x).sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

/** Mean, std (population and sample), SEM, median and n in one call. */
export function describe(x: Vector): { n: number; mean: number; std: number; sampleStd: number; sem: number; median: number } {
  checked(x, "describe");
  const n = x.length;
  return {
    n,
    mean: mean(x),
    std: std(x),
    sampleStd: n > 1 ? std(x, "sample") : NaN,
    sem: n > 1 ? sem(x) : NaN,
    median: median(x),
  };
}

/** 1-based ranks with ties given the average of the ranks they span (as scipy.stats.rankdata "average"). */
export function rank(x: Vector): Float64Array {
  checked(x, "rank");
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Sizes of the groups of tied values (only groups of size ≥ 2). */
export function tieGroups(x: Vector): number[] {
  const s = Array.from(x).sort((a, b) => a - b);
  const groups: number[] = [];
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[i]) j++;
    if (j > i) groups.push(j - i + 1);
    i = j + 1;
  }
  return groups;
}

/** Pearson correlation; NaN when either input is constant. */
export function pearson(x: Vector, y: Vector): number {
  checked(x, "pearson x", 2);
  checked(y, "pearson y", 2);
  if (x.length !== y.length) throw new Error(`pearson: lengths differ (${x.length} vs ${y.length})`);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman rank correlation = Pearson correlation of the (tie-averaged) ranks; NaN when either input is constant. */
export function spearman(x: Vector, y: Vector): number {
  if (x.length !== y.length) throw new Error(`spearman: lengths differ (${x.length} vs ${y.length})`);
  return pearson(rank(x), rank(y));
}
