// Spatial IDs, universal IDs, the Fig 5 projection and the universal-ID artefact on the tiny random fixture.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  averageGrids, gridTile, loadModel, loadUniversalIds, Model, pairSpatialIds, projectGrids, Q, saveUniversalIds, spatialIds,
  SpatialIdResult, textMarkers, toUniversalIds,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

let model: Model;
let res: SpatialIdResult;

before(async () => {
  ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  res = await spatialIds(model, { pairs: [["camel", "frog"], ["dog", "cake"]], keepPairs: ["camel|frog", "dog|cake"] });
});

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

test("spatial IDs: one trace per tile, the universal grid is the mean of the per-pair grids", () => {
  assert.equal(res.runs, 2 * 16 * 15);
  assert.equal(res.sites.length, model.numLayers + 1);
  res.universal.forEach((u, k) => {
    const avg = averageGrids([res.pairGrids["camel|frog"][k], res.pairGrids["dog|cake"][k]]);
    for (let j = 0; j < u.data.length; j++) assert.ok(Math.abs(u.data[j] - avg.data[j]) < 1e-12);
  });
});

test("spatial IDs: the per-pair grid equals pairSpatialIds on the frog word traced directly", async () => {
  const L = 1;
  const obs = [];
  for (let ai = 0; ai < 16; ai++)
    for (let bi = 0; bi < 16; bi++) {
      if (ai === bi) continue;
      const cellA: [number, number] = [ai % 4, ai >> 2], cellB: [number, number] = [bi % 4, bi >> 2];
      const t = await gridTile({ a: "camel", b: "frog", cellA, cellB, canvas: model.meta.image_size, size: model.meta.image_size / 4 });
      const x = await model.prepare({ image: t.image, prompt: "Is the frog to the left or right of the camel?" });
      const r = await model.trace(x, { site: `blocks.${L}.hook_resid_post`, positions: x.positionOf("frog") }, { prefixReuse: false });
      obs.push({ pair: "camel|frog", partnerCell: { x: cellA[0], y: cellA[1] }, cell: { x: cellB[0], y: cellB[1] }, vector: r.get(`blocks.${L}.hook_resid_post`).row(0) });
    }
  const direct = pairSpatialIds(obs, 4);
  const k = res.layers.indexOf(L);
  const got = res.pairGrids["camel|frog"][k];
  let m = 0;
  for (let j = 0; j < got.data.length; j++) m = Math.max(m, Math.abs(got.data[j] - direct.data[j]));
  assert.ok(m < 1e-4, `max diff ${m}`);
});

test("projection: orthonormal basis with u along h, coordinates are dot products, markers projected with the same basis", async () => {
  const markers = await textMarkers(model, Q.leftRight("frog", "camel"), ["left", "right"], res.layers);
  const pr = projectGrids(res.universal, res.layers, markers);
  // hook_embed: the word embedding cannot see the image, so the IDs vanish and the plane is degenerate
  assert.equal(pr[0].layer, -1);
  assert.ok(pr[0].degenerate && Number.isNaN(pr[0].explained));
  for (const p of pr.slice(1)) {
    assert.ok(!p.degenerate);
    const { u, v } = p.basis;
    assert.ok(Math.abs(dot(u, u) - 1) < 1e-10 && Math.abs(dot(v, v) - 1) < 1e-10 && Math.abs(dot(u, v)) < 1e-10);
    const nh = Math.sqrt(dot(p.axes.h, p.axes.h));
    assert.ok(Math.abs(dot(u, p.axes.h) - nh) < 1e-9 * nh, "u is h normalised");
    const k = res.layers.indexOf(p.layer);
    const g = res.universal[k];
    for (let c = 0; c < 16; c++) {
      const row = g.data.subarray(c * g.dim, (c + 1) * g.dim);
      assert.ok(Math.abs(p.px[c] - dot(row, u)) < 1e-9 && Math.abs(p.py[c] - dot(row, v)) < 1e-9);
    }
    assert.ok(p.explained > 0 && p.explained <= 1 + 1e-9);
    assert.ok(Math.abs(p.markers.left[0] - dot(markers.left[k], u)) < 1e-6);
    assert.ok(p.spearmanX >= -1 && p.spearmanX <= 1);
  }
});

test("universal-ID artefact: save → load round-trips (float32), errors name the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "uids-"));
  const u = toUniversalIds(res, { note: "test" });
  const paths = saveUniversalIds(join(dir, "tiny"), u);
  const back = loadUniversalIds(paths.safetensors);
  assert.equal(back.model, u.model);
  assert.deepEqual(back.sites, u.sites);
  assert.equal(back.m, 4);
  assert.equal(back.dim, model.width);
  assert.equal((back.info as { note: string }).note, "test");
  for (const site of u.sites) {
    const a = u.grids[site].data, b = back.grids[site].data;
    for (let j = 0; j < a.length; j++) assert.equal(b[j], Math.fround(a[j]));
    for (let j = 0; j < u.dim; j++) assert.equal(back.axes[site].h[j], Math.fround(u.axes[site].h[j]));
  }
  // the [m, m, dim] tensor is laid out ids[y][x]: cell (x=3, y=1) is row 1·4 + 3
  const site = u.sites[2];
  assert.equal(back.grids[site].data[(1 * 4 + 3) * u.dim + 5], Math.fround(u.grids[site].data[7 * u.dim + 5]));
  assert.throws(() => loadUniversalIds(join(dir, "missing")), /not found/);
  const side = JSON.parse(readFileSync(paths.json, "utf8"));
  writeFileSync(paths.json, JSON.stringify({ ...side, format: "other" }));
  assert.throws(() => loadUniversalIds(paths.json), /format "other"/);
  writeFileSync(paths.json, JSON.stringify({ ...side, dim: side.dim + 1 }));
  assert.throws(() => loadUniversalIds(paths.json), /has shape/);
});

test("spatial IDs: bad input gets one clear error", async () => {
  await assert.rejects(spatialIds(model, { pairs: [["camel", "camel"]] }), /same object twice/);
  await assert.rejects(spatialIds(model, { pairs: [["camel", "unicorn"]] }), /unicorn/);
  await assert.rejects(spatialIds(model, { pairs: [["camel", "frog"]], keepPairs: ["dog|cake"] }), /keepPairs/);
  await assert.rejects(spatialIds(model, { pairs: [["camel", "frog"]], layers: [99] }), /layer 99/);
});

test("bundleHash: stable for one bundle, different once a weight file changes (stale ID artefacts are not reused)", async () => {
  await ensureFixture();
  const { bundleHash } = await import("linmech");
  const { cpSync } = await import("node:fs");
  const h1 = bundleHash(BUNDLE);
  assert.equal(bundleHash(BUNDLE), h1);
  assert.match(h1, /^[0-9a-f]{16}$/);
  const copy = join(mkdtempSync(join(tmpdir(), "linmech-hash-")), "bundle");
  cpSync(BUNDLE, copy, { recursive: true });
  assert.equal(bundleHash(copy), h1, "a copy has the same content");
  const dec = join(copy, "onnx", "decoder_model_merged.onnx");
  const bytes = readFileSync(dec);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(dec, bytes);
  assert.notEqual(bundleHash(copy), h1);
});
