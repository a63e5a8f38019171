import { test } from "node:test";
import assert from "node:assert/strict";
import { mannWhitneyU, normalSf } from "linmech";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("Mann–Whitney: completely separated samples of 3 and 3 (exact): U = 0, p(less) = 1/C(6,3)", () => {
  const x = [1, 2, 3];
  const y = [4, 5, 6];
  const less = mannWhitneyU(x, y, { alternative: "less" });
  assert.equal(less.u, 0);
  assert.equal(less.u2, 9);
  assert.equal(less.method, "exact");
  close(less.p, 1 / 20);
  close(mannWhitneyU(x, y).p, 2 / 20);
  close(mannWhitneyU(x, y, { alternative: "greater" }).p, 1);
});

function bruteForceLessP(n1: number, n2: number, u: number): number {
  // Enumerate every way to choose which n1 of the n1+n2 ranks belong to x; U1 = Σ ranks − n1(n1+1)/2.
  let hit = 0;
  let total = 0;
  const rec = (start: number, left: number, sum: number): void => {
    if (left === 0) {
      total++;
      if (sum - (n1 * (n1 + 1)) / 2 <= u) hit++;
      return;
    }
    for (let r = start; r <= n1 + n2 - left + 1; r++) rec(r + 1, left - 1, sum + r);
  };
  rec(1, n1, 0);
  return hit / total;
}

test("Mann–Whitney: exact p-values equal full enumeration of rank arrangements", () => {
  const x = [1.5, 3.2, 7.1, 8.4, 9.9];
  const y = [2.0, 4.4, 5.3, 6.6, 10.5, 11.0, 12.2];
  // U1 = #(x_i > y_j) = 0 + 1 + 4 + 4 + 4 = 13
  const less = mannWhitneyU(x, y, { alternative: "less" });
  assert.equal(less.u, 13);
  const pLess = bruteForceLessP(5, 7, 13);
  close(pLess, 210 / 792);
  close(less.p, pLess);
  close(mannWhitneyU(x, y).p, 2 * pLess);
  close(mannWhitneyU(x, y, { alternative: "greater" }).p, 1 - bruteForceLessP(5, 7, 12));
  const big = mannWhitneyU([1, 4, 6, 9, 12, 13, 17, 20], [2, 3, 5, 7, 8, 10, 11], { alternative: "less" });
  close(big.p, bruteForceLessP(8, 7, big.u));
});

test("Mann–Whitney: ties use the normal approximation with tie and continuity corrections", () => {
  const x = [1, 2, 2, 3, 4];
  const y = [2, 3, 5, 6, 7, 8];
  // ranks: 1→1, 2s→3, 3s→5.5, 4→7: R1 = 19.5, U1 = 19.5 − 15 = 4.5; μ = 15;
  // σ² = (30/12)(12 − [(3³−3) + (2³−2)]/(11·10)) = 2.5(12 − 30/110)
  const sigma = Math.sqrt(2.5 * (12 - 30 / 110));
  const two = mannWhitneyU(x, y);
  assert.equal(two.u, 4.5);
  assert.equal(two.method, "asymptotic");
  close(two.z, (25.5 - 15 - 0.5) / sigma);
  close(two.p, 2 * normalSf(10 / sigma));
  close(two.p, 0.06476896969888761, 1e-12); // scipy.stats.mannwhitneyu gives the same
  close(mannWhitneyU(x, y, { alternative: "less" }).p, normalSf(10 / sigma));
  close(mannWhitneyU(x, y, { alternative: "greater" }).p, normalSf((4.5 - 15 - 0.5) / sigma));
  close(mannWhitneyU(x, y, { alternative: "less", continuity: false }).p, normalSf(10.5 / sigma));
  assert.equal(two.effectSize, 4.5 / 30);
});

test("Mann–Whitney: exact is refused with ties; bad input gets errors", () => {
  assert.throws(() => mannWhitneyU([1, 2], [2, 3], { method: "exact" }), /without ties/);
  assert.throws(() => mannWhitneyU([], [1]), /≥ 1 value/);
  assert.throws(() => mannWhitneyU([NaN], [1]), /NaN/);
  assert.throws(() => mannWhitneyU([1, 1], [1, 1]), /all values are tied/);
});
