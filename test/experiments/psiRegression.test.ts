// ψ → Δ regression: planted rank-3 maps are recovered; ψ pooling and centring; ψ from the fixture's ONNX table.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  centreRows, createRng, fitPsiToIds, loadModel, poolPatchesToCells, positionEmbeddingTable, psiFromPositionTable, psiProjected,
  gridTile, SpatialIdGrid,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

function planted(seed: number, noise: number): { psi: Float64Array[]; grid: SpatialIdGrid } {
  const rng = createRng(seed);
  const g = (r: number, c: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
  // ψ: 16 cells in a 20-dim space with 5 latent directions (so 5 principal components keep all of it)
  const Z = g(16, 5), E = g(5, 20);
  const psi = centreRows(Z.map((z) => Float64Array.from({ length: 20 }, (_, j) => z.reduce((s, zi, i) => s + zi * E[i][j], 0))));
  // Δ = ψ M with M of rank 3 (20 → 3 → 32), plus noise
  const A = g(20, 3), B = g(3, 32);
  const data = new Float64Array(16 * 32);
  psi.forEach((p, c) => {
    const h = [0, 1, 2].map((k) => p.reduce((s, pi, i) => s + pi * A[i][k], 0));
    for (let j = 0; j < 32; j++) data[c * 32 + j] = h.reduce((s, hk, k) => s + hk * B[k][j], 0) + noise * rng.normal();
  });
  return { psi, grid: { m: 4, dim: 32, data } };
}

test("ψ→Δ: a planted rank-3 map is recovered (R² = 1 at rank ≥ 3, below at ranks 1–2) and beats the shuffled null", () => {
  const { psi, grid } = planted(3, 0);
  const f = fitPsiToIds(psi, [grid], [4], { permutations: 50, seed: 1 });
  const L = f.layers[0];
  assert.deepEqual(f.ranks, [1, 2, 3, 4, 5]);
  assert.ok(Math.abs(f.psiVarianceKept - 1) < 1e-9);
  assert.ok(L.r2[2] > 1 - 1e-9 && L.r2[4] > 1 - 1e-9, `rank 3 R² ${L.r2[2]}`);
  assert.ok(L.r2[0] < L.r2[1] && L.r2[1] < 1 - 1e-6, `ranks 1,2: ${L.r2}`);
  assert.ok(L.looR2[2] > 1 - 1e-6, `LOO rank 3 ${L.looR2[2]}`);
  assert.ok(L.nullInSample.mean < 0.7 && L.nullInSample.p < 0.05, JSON.stringify(L.nullInSample));
  assert.ok(L.nullLoo.mean < 0.2 && L.nullLoo.p < 0.05, JSON.stringify(L.nullLoo));
  // with noise the fit degrades but stays far above the null
  const n = fitPsiToIds(planted(3, 0.5).psi, [planted(3, 0.5).grid], [4], { permutations: 50 }).layers[0];
  assert.ok(n.r2[2] < 1 && n.r2[2] > n.nullInSample.mean + 3 * n.nullInSample.std);
  // Δ = 0 (hook_embed) is reported as degenerate, not fitted
  const zero = fitPsiToIds(psi, [{ m: 4, dim: 32, data: new Float64Array(16 * 32) }], [-1], { permutations: 5 }).layers[0];
  assert.ok(zero.degenerate && zero.r2.every(Number.isNaN));
  assert.throws(() => fitPsiToIds(psi, [grid], [4], { components: 2, ranks: [3] }), /rank 3 is outside 1..2/);
  assert.throws(() => fitPsiToIds(psi.slice(1), [grid], [4]), /ψ has 15 cells/);
});

test("ψ pooling: patches whose centres fall in a cell are averaged; centring removes the cell mean", () => {
  const g = 8;
  const patches = Array.from({ length: g * g }, (_, k) => [k % g, Math.floor(k / g)]);
  const cells = poolPatchesToCells(patches, g, 4);
  cells.forEach((c, i) => {
    assert.equal(c[0], 2 * (i % 4) + 0.5);
    assert.equal(c[1], 2 * Math.floor(i / 4) + 0.5);
  });
  const cc = centreRows(cells);
  assert.ok(Math.abs(cc.reduce((s, r) => s + r[0], 0)) < 1e-12);
  assert.throws(() => poolPatchesToCells(patches.slice(1), g), /63 patch vectors/);
});

test("ψ from the bundle: the vision tower's position table (CLS + 4×4) and the model's own projected ψ", async () => {
  ensureFixture();
  const model = await loadModel(BUNDLE, { threads: 1 });
  const t = positionEmbeddingTable(model);
  assert.equal(t.grid, model.meta.image_size / (model.meta.patch_size ?? 1));
  assert.ok(t.hasCls);
  assert.equal(t.rows.length, t.grid * t.grid + 1);
  const psi = psiFromPositionTable(t);
  assert.equal(psi.length, 16);
  // one patch per cell here: ψ(cell) = table row of that patch minus the mean over patches
  for (let j = 0; j < t.width; j++) {
    const mu = t.rows.slice(1).reduce((s, r) => s + r[j], 0) / 16;
    assert.ok(Math.abs(psi[5][j] - (t.rows[1 + 5][j] - mu)) < 1e-6);
  }
  const images = [];
  for (const [a, b] of [[[0, 0], [3, 3]], [[1, 2], [2, 0]]] as [number, number][][])
    images.push({ image: (await gridTile({ a: "camel", b: "frog", cellA: a as [number, number], cellB: b as [number, number], canvas: model.meta.image_size })).image, prompt: "Is the frog to the left or right of the camel?" });
  const proj = await psiProjected(model, images);
  assert.equal(proj.length, 16);
  assert.equal(proj[0].length, model.width);
  assert.ok(Math.abs(proj.reduce((s, r) => s + r[3], 0)) < 1e-9);
});
