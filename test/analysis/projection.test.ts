import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng, minMaxNormalise, orientComponent, pca, projectOntoPlane, projectWithPca } from "linmech";

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("projectOntoPlane: a planar point set explains 100 % and keeps its coordinates", () => {
  const rng = createRng(1);
  const d = 7;
  const u = Array.from({ length: d }, () => rng.normal());
  const w = Array.from({ length: d }, () => rng.normal());
  const nu = Math.hypot(...u);
  const un = u.map((t) => t / nu);
  const c = w.reduce((s, t, i) => s + t * un[i], 0);
  const vo = w.map((t, i) => t - c * un[i]);
  const nv = Math.hypot(...vo);
  const vn = vo.map((t) => t / nv);
  const coords = Array.from({ length: 12 }, () => [rng.normal() * 3, rng.normal()] as const);
  const E = coords.map(([a, b]) => Float32Array.from(un.map((t, i) => a * t + b * vn[i])));
  // axes given as u scaled and w (not orthogonal to u): Gram–Schmidt recovers (un, vn)
  const p = projectOntoPlane(E, u.map((t) => t * 5), w);
  close(p.explained, 1, 1e-6);
  coords.forEach(([a, b], i) => {
    close(p.x[i], a, 1e-5);
    close(p.y[i], b, 1e-5);
  });
});

test("projectOntoPlane: explained share counts off-plane variance (authors' definition)", () => {
  // plane (e1, e2); var along e1 = 0.5, along e3 = 0.5, nothing along e2
  const E = [[1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]];
  const p = projectOntoPlane({ rows: 4, cols: 3, data: E.flat() }, [2, 0, 0], [1, 1, 0]);
  assert.deepEqual(Array.from(p.v), [0, 1, 0]);
  close(p.explained, 0.5, 1e-15);
});

test("projectOntoPlane: zero, parallel or mis-sized axes and NaN rows are errors", () => {
  const E = [[1, 2], [3, 4]];
  assert.throws(() => projectOntoPlane(E, [0, 0], [1, 0]), /xAxis is the zero vector/);
  assert.throws(() => projectOntoPlane(E, [1, 0], [0, 0]), /yAxis is the zero vector/);
  assert.throws(() => projectOntoPlane(E, [1, 1], [-2, -2]), /parallel/);
  assert.throws(() => projectOntoPlane(E, [1, 0, 0], [0, 1, 0]), /3 dims/);
  assert.throws(() => projectOntoPlane([[1, NaN], [0, 1]], [1, 0], [0, 1]), /entry \(0, 1\) is NaN/);
  assert.throws(() => projectOntoPlane([[1, 2], [3]], [1, 0], [0, 1]), /row 1 has 1 values/);
});

test("pca: points on a line give one component along it with ratio 1", () => {
  const w = [3, 4, 0, 12].map((t) => t / 13); // unit vector
  const t = [-2, -1, 0.5, 1, 3.5];
  const X = t.map((s) => w.map((wi, j) => s * wi + [1, 2, 3, 4][j]));
  const r = pca(X, 2);
  const c0 = Array.from(r.components.data.slice(0, 4));
  close(Math.abs(c0.reduce((s, ci, j) => s + ci * w[j], 0)), 1, 1e-12);
  close(r.explainedVarianceRatio[0], 1, 1e-12);
  close(r.explainedVarianceRatio[1], 0, 1e-12);
  const tMean = t.reduce((a, b) => a + b) / t.length;
  close(r.explainedVariance[0], t.reduce((s, ti) => s + (ti - tMean) ** 2, 0) / (t.length - 1), 1e-12);
  const sign = Math.sign(r.projections.data[0] * (t[0] - tMean));
  t.forEach((ti, i) => close(r.projections.data[i * 2], sign * (ti - tMean), 1e-12));
});

test("pca: orientComponent makes a chosen ordering increasing; new points use the same axes", () => {
  const X = [[0, 0], [1, 0.1], [2, -0.1], [3, 0]];
  for (const flip of [1, -1]) {
    const r = pca(X.map((row) => row.map((v) => v * flip)), 1);
    const o = orientComponent(r, 0, 0, 3);
    assert.ok(o.projections.data[0] < o.projections.data[3]);
    const marker = projectWithPca(o, [X[3].map((v) => v * flip)]);
    close(marker.data[0], o.projections.data[3], 1e-12);
    const scaled = minMaxNormalise(o.projections.data);
    close(scaled[0], 0, 1e-15);
    close(scaled[3], 1, 1e-15);
  }
  assert.throws(() => pca([[1, 2]], 1), /at least 2 rows/);
  assert.throws(() => pca(X, 3), /k must be an integer in 1..2/);
  assert.throws(() => pca([[1, 1], [1, 1]], 1), /no variance/);
});

test("pca: wide data (Gram route) gives the same axes and ratios as tall data (SVD route)", () => {
  const rng = createRng(4);
  const X = Array.from({ length: 6 }, () => Array.from({ length: 10 }, () => rng.normal()));
  const mu = X[0].map((_, j) => X.reduce((s, r) => s + r[j], 0) / X.length);
  const stacked = [...X, ...X.map((r) => r.map((v, j) => 2 * mu[j] - v))]; // 12 > 10 rows: same axes, same ratios
  const wide = pca(X, 3);
  const tall = pca(stacked, 3);
  for (let c = 0; c < 3; c++) {
    close(wide.explainedVarianceRatio[c], tall.explainedVarianceRatio[c], 1e-10);
    const a = wide.components.data.slice(c * 10, c * 10 + 10);
    const b = tall.components.data.slice(c * 10, c * 10 + 10);
    close(Math.abs(a.reduce((s, t, j) => s + t * b[j], 0)), 1, 1e-10);
    const proj = Array.from({ length: 6 }, (_, i) => wide.projections.data[i * 3 + c]);
    close(proj.reduce((s, t) => s + t * t, 0) / 5, wide.explainedVariance[c], 1e-10);
  }
  // a line in 10 dims with k = 2: the second singular value is 0, handled by the SVD fallback
  const line = [0, 1, 2, 4, 7].map((t) => Array.from({ length: 10 }, (_, j) => t * (j + 1)));
  const r = pca(line, 2);
  close(r.explainedVarianceRatio[0], 1, 1e-12);
  assert.ok(Number.isFinite(r.components.data[15]));
});
