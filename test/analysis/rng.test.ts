import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng, gaussianVector, mean, permutation, randomVectorWithNorm, variance } from "linmech";

test("rng: the same seed gives the same stream, another seed a different one", () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const sa = Array.from({ length: 5 }, () => a.uniform());
  assert.deepEqual(Array.from({ length: 5 }, () => b.uniform()), sa);
  assert.notDeepEqual(Array.from({ length: 5 }, () => c.uniform()), sa);
  assert.ok(sa.every((u) => u >= 0 && u < 1));
});

test("rng: uniform and Gaussian draws have the right moments", () => {
  const r = createRng(7);
  const n = 40000;
  const u = Array.from({ length: n }, () => r.uniform());
  assert.ok(Math.abs(mean(u) - 0.5) < 0.01);
  assert.ok(Math.abs(variance(u) - 1 / 12) < 0.003);
  const z = gaussianVector(n, r);
  assert.ok(Math.abs(mean(z)) < 0.02, `mean ${mean(z)}`);
  assert.ok(Math.abs(variance(z) - 1) < 0.03, `variance ${variance(z)}`);
  const tail = Array.from(z).filter((t) => Math.abs(t) > 1.959964).length / n; // ≈ 5 %
  assert.ok(Math.abs(tail - 0.05) < 0.006, `tail ${tail}`);
});

test("rng: permutations are permutations; random vectors have the requested norm", () => {
  const r = createRng(1);
  const p = permutation(50, r);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(p, Array.from({ length: 50 }, (_, i) => i));
  const v = randomVectorWithNorm(4096, 12.5, r);
  assert.ok(Math.abs(Math.hypot(...v) - 12.5) < 1e-9);
  assert.throws(() => randomVectorWithNorm(0, 1, r), /positive integer/);
  assert.throws(() => randomVectorWithNorm(3, -1, r), /≥ 0/);
});
