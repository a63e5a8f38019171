import { test } from "node:test";
import assert from "node:assert/strict";
import { describe, mean, median, normalCdf, normalSf, pearson, quantile, rank, sem, spearman, std, variance, erfc } from "linmech";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("stats: mean, population and sample std, SEM of a textbook set", () => {
  const x = [2, 4, 4, 4, 5, 5, 7, 9]; // Σ(x − 5)² = 32
  assert.equal(mean(x), 5);
  assert.equal(std(x), 2);
  close(variance(x, "sample"), 32 / 7);
  close(std(Float32Array.from(x), "sample"), Math.sqrt(32 / 7));
  close(sem(x), Math.sqrt(32 / 7) / Math.sqrt(8));
  const d = describe(x);
  assert.equal(d.n, 8);
  assert.equal(d.median, 4.5);
});

test("stats: median and quantiles interpolate between order statistics", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([1, 3, 2, 4]), 2.5);
  assert.equal(quantile([0, 10, 20, 30, 40], 0.25), 10);
  assert.equal(quantile([0, 10], 0.3), 3);
});

test("stats: NaN, empty input and too-short samples get clear errors", () => {
  assert.throws(() => mean([1, NaN]), /entry 1 is NaN/);
  assert.throws(() => mean([]), /at least 1/);
  assert.throws(() => std([1], "sample"), /at least 2/);
  assert.throws(() => pearson([1, 2], [1, 2, 3]), /lengths differ/);
});

test("stats: ranks average ties", () => {
  assert.deepEqual(Array.from(rank([10, 20, 20, 5, 20])), [2, 4, 4, 1, 4]);
});

test("stats: Spearman of monotone data is ±1, with ties 3/√10", () => {
  const x = [1, 2, 3, 4, 5, 6];
  assert.equal(spearman(x, x.map((t) => Math.exp(t))), 1);
  assert.equal(spearman(x, x.map((t) => -(t ** 3))), -1);
  // ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5 → 4.5/√22.5
  close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 3 / Math.sqrt(10));
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
});

test("stats: Pearson of an affine relation is 1, of a symmetric parabola 0", () => {
  close(pearson([1, 2, 3, 4], [3, 5, 7, 9]), 1);
  close(pearson([-2, -1, 0, 1, 2], [4, 1, 0, 1, 4]), 0);
});

test("normal: tail probabilities match tabulated values", () => {
  close(normalCdf(0), 0.5, 1e-15);
  close(normalCdf(1.959963984540054), 0.975, 1e-13);
  close(normalSf(1), 0.15865525393145707, 1e-13);
  close(normalSf(3), 0.0013498980316301035, 1e-12);
  close(normalSf(8) / 6.22096057427178e-16, 1, 1e-10);
  close(erfc(-1) + erfc(1), 2, 1e-15);
});
