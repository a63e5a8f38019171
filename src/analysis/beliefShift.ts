// Normalised belief shift of an activation patch (Fig 4 mirror/attribute swap, Fig 10a temporal swap).
// Authors' form, per answer word t (not conditioned on the ground truth):
//   shift_t = (lp_orig[t] − lp_patched[t]) / (lp_orig[t] − lp_counterfactual[t])
// 1 = the patch moves t's log-prob all the way to the counterfactual run's, 0 = no effect. The paper's formula
// uses probabilities of the GT answer: (P_orig(GT) − P_patched(GT)) / (P_orig(GT) − P_cf(GT)).
// When the denominator is 0 the ratio is undefined: these functions return NaN and the authors' notebook instead
// maps NaN/±Inf to 0 (`authorsNanToZero`); callers should count and report such cases (see `summariseShifts`).
import { finiteValues, mean, std } from "./stats";

/** (orig − patched) / (orig − counterfactual); NaN when the denominator is 0 or any input is not finite. */
export function beliefShift(orig: number, patched: number, counterfactual: number): number {
  if (!Number.isFinite(orig) || !Number.isFinite(patched) || !Number.isFinite(counterfactual)) return NaN;
  const den = orig - counterfactual;
  if (den === 0) return NaN;
  return (orig - patched) / den;
}

/** The authors' per-word form for every answer word present in all three records (e.g. { left, right }). */
export function beliefShiftPerWord<W extends string>(
  orig: Readonly<Record<W, number>>,
  patched: Readonly<Record<W, number>>,
  counterfactual: Readonly<Record<W, number>>,
): Record<W, number> {
  const out = {} as Record<W, number>;
  for (const w of Object.keys(orig) as W[]) {
    if (!(w in patched) || !(w in counterfactual)) throw new Error(`beliefShiftPerWord: word "${w}" is missing from the patched or counterfactual log-probs`);
    out[w] = beliefShift(orig[w], patched[w], counterfactual[w]);
  }
  return out;
}

/**
 * The paper's GT-conditioned form for answer word `gt`. scale "prob" (default, the paper's formula) converts the
 * log-probs to probabilities first; "logprob" applies the authors' log-prob ratio to the GT word only.
 */
export function beliefShiftGt<W extends string>(
  orig: Readonly<Record<W, number>>,
  patched: Readonly<Record<W, number>>,
  counterfactual: Readonly<Record<W, number>>,
  gt: W,
  scale: "prob" | "logprob" = "prob",
): number {
  if (!(gt in orig) || !(gt in patched) || !(gt in counterfactual)) throw new Error(`beliefShiftGt: GT word "${gt}" is missing from the log-probs`);
  const f = scale === "prob" ? Math.exp : (t: number): number => t;
  return beliefShift(f(orig[gt]), f(patched[gt]), f(counterfactual[gt]));
}

/** The authors' notebook treatment: NaN and ±Inf become 0. */
export function authorsNanToZero(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

export interface ShiftSummary {
  mean: number;
  /** Population std (numpy default, as the authors' bands). */
  std: number;
  /** Values that entered the summary. */
  n: number;
  /** Non-finite values (zero denominators): excluded, or counted as 0 under policy "zero". */
  undefinedCount: number;
}

/** Mean ± std of shifts; policy "exclude" (default) drops NaN/Inf, "zero" reproduces the authors' NaN→0. */
export function summariseShifts(values: ArrayLike<number>, policy: "exclude" | "zero" = "exclude"): ShiftSummary {
  const { values: finite, dropped } = finiteValues(Array.from(values));
  const used = policy === "zero" ? Array.from(values, authorsNanToZero) : finite;
  if (used.length === 0) return { mean: NaN, std: NaN, n: 0, undefinedCount: dropped };
  return { mean: mean(used), std: std(used), n: used.length, undefinedCount: dropped };
}
