import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng, leaveOneOutR2, predictRrr, r2ByRank, reducedRankRegression, rrrCoefficients, rSquared, shuffledNullR2 } from "linmech";

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** X (n × p) Gaussian, Y = X L R + c with L (p × 3), R (3 × q): a planted rank-3 map. */
function planted(n: number, p: number, q: number, seed: number): { X: number[][]; Y: number[][]; B: number[][] } {
  const rng = createRng(seed);
  const g = (r: number, c: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
  const X = g(n, p);
  const L = g(p, 3);
  const R = g(3, q);
  const c = g(1, q)[0];
  const B = L.map((row) => R[0].map((_, j) => row.reduce((s, l, k) => s + l * R[k][j], 0)));
  const Y = X.map((x) => c.map((cj, j) => cj + x.reduce((s, xi, i) => s + xi * B[i][j], 0)));
  return { X, Y, B };
}

test("RRR: a planted rank-3 map is recovered with R² = 1 and exact coefficients", () => {
  const { X, Y, B } = planted(30, 6, 10, 7);
  const fit = reducedRankRegression(X, Y, { rank: 3 });
  close(fit.r2, 1, 1e-10);
  const coef = rrrCoefficients(fit);
  B.forEach((row, i) => row.forEach((bij, j) => close(coef.data[i * 10 + j], bij, 1e-8)));
  const Xnew = [[0.5, -1, 2, 0, 0.1, 3]];
  const pred = predictRrr(fit, Xnew);
  const direct = predictRrr(reducedRankRegression(X, Y, { rank: 6 }), Xnew);
  pred.data.forEach((v, j) => close(v, direct.data[j], 1e-8)); // the rank-3 map predicts like the full OLS map
  // fewer ranks lose variance; R² never decreases with rank
  const curve = r2ByRank(X, Y, [1, 2, 3, 4]);
  assert.ok(curve[0].r2 < curve[1].r2 && curve[1].r2 < curve[2].r2 - 1e-6, JSON.stringify(curve));
  close(curve[3].r2, 1, 1e-10);
  assert.equal(fit.fittedSingularValues.filter((s) => s > 1e-8 * fit.fittedSingularValues[0]).length, 3);
});

test("RRR: closed-form rank-1 fit of Y = diag(3, 2, 1) on X = I has R² = 13/28", () => {
  // OLS fits Y exactly; rank 1 keeps diag(3, 0, 0). SS_res = 2² + 1² = 5; SS_tot (centred) = 6 + 8/3 + 2/3 = 28/3.
  const X = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const Y = [[3, 0, 0], [0, 2, 0], [0, 0, 1]];
  const fit = reducedRankRegression(X, Y, { rank: 1, intercept: false });
  close(fit.r2, 1 - 15 / 28, 1e-12);
  assert.deepEqual(Array.from(fit.fitted.data, (v) => Math.round(v * 1e12) / 1e12), [3, 0, 0, 0, 0, 0, 0, 0, 0]);
  close(rSquared(Y, [[3, 0, 0], [0, 0, 0], [0, 0, 0]]), 13 / 28, 1e-12);
});

test("RRR: shuffled-row null sits near 0, the planted fit far above it", () => {
  const { X, Y } = planted(40, 5, 8, 3);
  const nul = shuffledNullR2(X, Y, { rank: 3, permutations: 60, seed: 11 });
  close(nul.observed, 1, 1e-10);
  assert.ok(nul.nullMean < 0.25 && nul.nullMean > 0, `null mean ${nul.nullMean}`);
  assert.ok(nul.nullStd > 0 && nul.nullStd < 0.15, `null std ${nul.nullStd}`);
  close(nul.p, 1 / 61, 1e-15);
  // seeded: the same seed gives the same null
  const again = shuffledNullR2(X, Y, { rank: 3, permutations: 60, seed: 11 });
  assert.deepEqual(Array.from(again.null), Array.from(nul.null));
  const cv = shuffledNullR2(X, Y, { rank: 3, permutations: 10, seed: 2, statistic: "leaveOneOut", groups: X.map((_, i) => i % 5) });
  close(cv.observed, 1, 1e-9);
  assert.ok(cv.nullMean < 0, `held-out R² of shuffled data should be negative, got ${cv.nullMean}`);
});

test("RRR: leave-one-cell-out R² is 1 for a noiseless map and drops below in-sample R² with noise", () => {
  const { X, Y } = planted(16, 4, 6, 5);
  close(leaveOneOutR2(X, Y, { rank: 3 }).r2, 1, 1e-9);
  const rng = createRng(9);
  const noisy = Y.map((row) => row.map((v) => v + 0.5 * rng.normal()));
  const ins = reducedRankRegression(X, noisy, { rank: 3 }).r2;
  const loo = leaveOneOutR2(X, noisy, { rank: 3 });
  assert.ok(loo.r2 < ins, `${loo.r2} < ${ins}`);
  // groups: leaving out pairs of rows is a different, valid split
  const grouped = leaveOneOutR2(X, noisy, { rank: 3, groups: X.map((_, i) => Math.floor(i / 2)) });
  assert.ok(grouped.r2 < ins);
  assert.equal(grouped.predictions.rows, 16);
});

test("RRR: ridge shrinks the fit; more predictors than rows uses the minimum-norm solution", () => {
  const { X, Y } = planted(20, 4, 5, 1);
  assert.ok(reducedRankRegression(X, Y, { rank: 3, ridge: 10 }).r2 < 1 - 1e-4);
  const wide = planted(6, 12, 5, 2); // n < p: OLS interpolates, R² = 1 even at rank 3
  close(reducedRankRegression(wide.X, wide.Y, { rank: 3 }).r2, 1, 1e-9);
});

test("RRR: shape and parameter errors are explicit", () => {
  const { X, Y } = planted(10, 3, 4, 1);
  assert.throws(() => reducedRankRegression(X, Y.slice(1), { rank: 1 }), /X has 10 rows, Y has 9/);
  assert.throws(() => reducedRankRegression(X, Y, { rank: 4 }), /rank must be an integer in 1..3/);
  assert.throws(() => reducedRankRegression(X, Y, { rank: 1, ridge: -1 }), /ridge/);
  assert.throws(() => predictRrr(reducedRankRegression(X, Y, { rank: 1 }), [[1, 2]]), /2 columns, the fit has 3/);
  assert.throws(() => rSquared([[1], [1]], [[1], [2]]), /no variance/);
});
