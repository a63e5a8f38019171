import { test } from "node:test";
import assert from "node:assert/strict";
import { type IdObservation, gridId, idDifference, interpolateGridId, mirrorCell, pairSpatialIds, spatialAxes, spatialIdGrid, universalSpatialIds } from "linmech";

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const m = 4;
const a = [1, 0, 2]; // per-column direction
const b = [0, 1, -1]; // per-row direction

/** Observations of a partner-independent linear field φ(obj, cell) = base(obj) + x·a + y·b (+ size offset). */
function observations(pairs: string[], sizes: (number | undefined)[] = [undefined]): IdObservation[] {
  const obs: IdObservation[] = [];
  pairs.forEach((pair, k) => {
    for (let px = 0; px < m; px++)
      for (let py = 0; py < m; py++)
        for (let x = 0; x < m; x++)
          for (let y = 0; y < m; y++) {
            if (x === px && y === py) continue; // two objects never share a cell
            for (const size of sizes) {
              const off = size === undefined ? 0 : size / 100;
              obs.push({ pair, partnerCell: { x: px, y: py }, cell: { x, y }, size, vector: a.map((ai, j) => 10 * k + x * ai + y * b[j] + off) });
            }
          }
  });
  return obs;
}

test("spatial IDs: per-pair centring over partner cells is (K²−1)/K² of ideal centring (K = 15 cells)", () => {
  const g = pairSpatialIds(observations(["camel|frog"]), m);
  const scale = 224 / 225;
  for (let x = 0; x < m; x++)
    for (let y = 0; y < m; y++) {
      const id = gridId(g, { x, y });
      a.forEach((ai, j) => close(id[j], scale * ((x - 1.5) * ai + (y - 1.5) * b[j])));
    }
});

test("spatial IDs: universal ID averages pairs; object identity cancels", () => {
  const u = universalSpatialIds(observations(["camel|frog", "dog|cake", "fan|log"]), m);
  const single = pairSpatialIds(observations(["x|y"]), m);
  u.data.forEach((v, i) => close(v, single.data[i]));
});

test("spatial IDs: several sizes are centred jointly; differences ignore the size offset", () => {
  const obs = observations(["camel|frog"], [74, 224]);
  assert.throws(() => pairSpatialIds(obs, m), /choose one with options.size/);
  const g = pairSpatialIds(obs, m, { size: 224 });
  const d = idDifference(g, { x: 3, y: 0 }, { x: 0, y: 0 });
  a.forEach((ai, j) => close(d[j], (224 / 225) * 3 * ai));
});

test("spatial IDs: missing cells, mixed pairs and bad cells are errors", () => {
  const obs = observations(["p"]).filter((o) => !(o.cell.x === 2 && o.cell.y === 1));
  assert.throws(() => pairSpatialIds(obs, m), /no observation \(size 0\) at cells \(2, 1\)/);
  assert.throws(() => pairSpatialIds(observations(["p", "q"]), m), /use universalSpatialIds/);
  assert.throws(() => gridId(pairSpatialIds(observations(["p"]), m), { x: 4, y: 0 }), /outside the 4×4 grid/);
});

test("spatial axes: mean over x1 < x2 pairs; the authors' variant is the same direction × 2/3", () => {
  // U(x, y) = x·a + y·b: mean of (x2 − x1) over the 6 column pairs = 10/6
  const grid = spatialIdGrid(m, Array.from({ length: m * m }, (_, r) => a.map((ai, j) => (r % m) * ai + Math.floor(r / m) * b[j])));
  const { h, v } = spatialAxes(grid);
  a.forEach((ai, j) => close(h[j], (10 / 6) * ai));
  b.forEach((bi, j) => close(v[j], (10 / 6) * bi));
  const authors = spatialAxes(grid, { variant: "authors" });
  a.forEach((ai, j) => close(authors.h[j], (10 / 9) * ai)); // 24 non-zero of 36 terms
  b.forEach((bi, j) => close(authors.v[j], (10 / 9) * bi));
});

test("mirrorCell: horizontal flips the column, vertical the row", () => {
  assert.deepEqual(mirrorCell({ x: 0, y: 1 }, "horizontal", 4), { x: 3, y: 1 });
  assert.deepEqual(mirrorCell({ x: 2, y: 0 }, "vertical", 4), { x: 2, y: 3 });
  assert.throws(() => mirrorCell({ x: -1, y: 0 }, "vertical", 4), /outside/);
});

test("bilinear GT ID: centred variant hits cell centres and clamps at the borders", () => {
  const grid = spatialIdGrid(m, Array.from({ length: m * m }, (_, r) => [r % m, Math.floor(r / m)]));
  const at = (nx: number, ny: number, variant?: "centred" | "authors"): number[] => Array.from(interpolateGridId(grid, nx, ny, variant).vector);
  assert.deepEqual(at(0.125, 0.625), [0, 2]); // centre of cell (0, 2)
  assert.deepEqual(at(0.5, 0.5), [1.5, 1.5]); // between cells 1 and 2
  const p = at(0.3, 0.8);
  close(p[0], 4 * 0.3 - 0.5);
  close(p[1], 4 * 0.8 - 0.5);
  assert.deepEqual(at(0, 1), [0, 3]);
  const w = interpolateGridId(grid, 0.3, 0.8).weights.reduce((s, t) => s + t.weight, 0);
  close(w, 1, 1e-15);
});

test("bilinear GT ID: authors' variant is shifted half a cell and drops index-m corners", () => {
  const grid = spatialIdGrid(m, Array.from({ length: m * m }, (_, r) => [r % m, Math.floor(r / m)]));
  assert.deepEqual(Array.from(interpolateGridId(grid, 0.5, 0.5, "authors").vector), [2, 2]);
  assert.deepEqual(Array.from(interpolateGridId(grid, 0.125, 0.125, "authors").vector), [0.5, 0.5]);
  const edge = interpolateGridId(grid, 1, 0.5, "authors");
  assert.equal(edge.weights.reduce((s, t) => s + t.weight, 0), 0); // all weight sat on the missing column 4
  assert.deepEqual(Array.from(edge.vector), [0, 0]);
  assert.throws(() => interpolateGridId(grid, 1.2, 0.5), /\[0, 1\]/);
});
