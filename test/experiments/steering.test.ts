// Steering experiments (Fig 2, 6, 7, 9) on the tiny random LLaVA fixture: invariants that hold for any model.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import {
  AdversarialResult, adversarialEdits, adversarialSteering, binomialTwoSided, cellContrast, cellCurves, cellSweep, depthVsHeight,
  gridId, IdGrids, idGridAt, layerSweep, loadModel, Model, modelFamily, PAPER_OBJECTS, resid, reversingCells, steerabilityPoint,
  steeringSamples, SteeringSample, summariseAdversarial, summariseDepthHeight, traceUniversalIds,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

let model: Model;
let ids: IdGrids;
let lr: SteeringSample[];
let ab: SteeringSample[];

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

before(async () => {
  ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  ids = await traceUniversalIds(model, { objects: ["frog", "camel"] });
  const opts = { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 3 };
  lr = await steeringSamples("clutter-lr", 4, opts);
  ab = await steeringSamples("clutter-ab", 3, opts);
});

test("samples: ground truth matches the question, answers are the task's words, seeded", async () => {
  for (const s of lr) {
    assert.ok(["left", "right"].includes(s.answer));
    assert.equal(s.other, s.answer === "left" ? "right" : "left");
    assert.equal(s.question, `Is the ${s.subject} to the left or right of the ${s.reference}?`);
  }
  const again = await steeringSamples("clutter-lr", 4, { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 3 });
  assert.deepEqual(again.map((s) => [s.question, s.answer]), lr.map((s) => [s.question, s.answer]));
  assert.deepEqual(Buffer.from(again[0].image.data), Buffer.from(lr[0].image.data));
  const ib = await steeringSamples("inbetween", 2, { size: model.meta.image_size, objects: PAPER_OBJECTS });
  for (const s of ib) assert.ok(s.question.includes(s.reference2!) && ["yes", "no"].includes(s.answer));
  await assert.rejects(steeringSamples("clutter-lr", 0, { size: 32 }), /positive integer/);
  await assert.rejects(steeringSamples("bogus" as never, 1, { size: 32 }), /unknown steering task/);
});

test("traced universal IDs: one grid per block, centred (the 16 IDs sum to ~0), zero at hook_embed's absence", () => {
  for (let L = 0; L < model.numLayers; L++) {
    const g = idGridAt(ids, L);
    assert.equal(g.m, 4);
    assert.equal(g.dim, model.width);
    const sum = new Float64Array(g.dim);
    for (let r = 0; r < 16; r++) for (let j = 0; j < g.dim; j++) sum[j] += g.data[r * g.dim + j];
    // per-pair centring leaves each cell's mean over partner groups; the sum over cells is 0 up to float rounding
    assert.ok(norm(sum) < 1e-3 * Math.max(1, norm(g.data)), `layer ${L}: sum of IDs ${norm(sum)}`);
    assert.ok(norm(g.data) > 0, `layer ${L}: IDs are all zero`);
  }
  assert.throws(() => idGridAt(ids, -1), /no universal IDs at hook_embed/);
});

test("adversarial edits: exact norms (ID and noise), opposite signs, direction = U(to) − U(from), seeded noise", () => {
  const layers = [0, 2];
  const grids = layers.map((L) => idGridAt(ids, L));
  const spec = {
    layers, grids, believed: "right", subjectPositions: 20, referencePositions: 25, subjectNorms: [2, 3], referenceNorms: [4, 0.5],
    factor: 5, width: model.width, noiseSeed: (L: number) => 100 + L,
  };
  const e = adversarialEdits(spec);
  assert.equal(e.id.length, 2);
  assert.equal(e.noise.length, 2);
  layers.forEach((L, k) => {
    const [s, r] = e.id[k], [ns, nr] = e.noise[k];
    for (const x of [s, r, ns, nr]) {
      assert.equal(x.op, "add");
      assert.equal(x.site, resid(L));
    }
    if (s.op !== "add" || r.op !== "add" || ns.op !== "add" || nr.op !== "add") throw new Error("not add edits");
    close(norm(s.vector), 5 * spec.subjectNorms[k], 1e-9, "ID subject norm");
    close(norm(r.vector), 5 * spec.referenceNorms[k], 1e-9, "ID reference norm");
    close(norm(ns.vector), 5 * spec.subjectNorms[k], 1e-9, "noise subject norm");
    close(norm(nr.vector), 5 * spec.referenceNorms[k], 1e-9, "noise reference norm");
    // believed "right": the subject is pushed left, U(0,0) − U(3,0); the reference the other way
    const want = Array.from(gridId(grids[k], { x: 0, y: 0 })).map((v, j) => v - gridId(grids[k], { x: 3, y: 0 })[j]);
    const cos = (a: number[], b: number[]) => a.reduce((t, v, j) => t + v * b[j], 0) / (norm(a) * norm(b));
    close(cos(s.vector, want), 1, 1e-9, "subject direction");
    close(cos(r.vector, want), -1, 1e-9, "reference direction");
    // noise is not aligned with the ID and differs between subject and reference
    assert.ok(Math.abs(cos(ns.vector, want)) < 0.9);
    assert.notDeepEqual(ns.vector, nr.vector);
  });
  assert.deepEqual(adversarialEdits(spec).noise, e.noise, "same seed, same noise");
  assert.notDeepEqual(adversarialEdits({ ...spec, noiseSeed: (L: number) => 7 + L }).noise, e.noise);
  assert.equal(adversarialEdits({ ...spec, noiseSeed: undefined }).noise.length, 0);
  assert.deepEqual(reversingCells("above"), { from: { x: 0, y: 0 }, to: { x: 0, y: 3 } });
  assert.throws(() => reversingCells("near"), /left\/right and above\/below/);
});

test("adversarial steering with factor 0 leaves every margin unchanged: nothing flips", async () => {
  const r = await adversarialSteering(model, [...lr.slice(0, 2), ab[0]], ids, { factor: 0, generate: 1 });
  assert.equal(r.runs, 3 * (1 + 2 * model.numLayers));
  for (const q of r.questions) {
    assert.equal(q.believed, q.d0 >= 0 ? q.answer : q.other);
    for (const o of [...q.id, ...q.noise!]) {
      close(o.d, q.d0, 1e-4, `margin of question ${q.index}`);
      assert.notEqual(o.flipped, true);
    }
    for (const n of [...q.norms.subject, ...q.norms.reference]) assert.ok(n > 0);
  }
  await assert.rejects(adversarialSteering(model, lr, ids, { layers: [model.numLayers] }), /outside/);
  await assert.rejects(adversarialSteering(model, lr, { grids: {} }), /no universal IDs/);
});

test("adversarial steering at 5x: the reported margins are the patched runs' margins; summaries and tests are consistent", async () => {
  const r = await adversarialSteering(model, lr, ids, { factor: 5, generate: 2, layers: [0, 1, 2], seed: 1 });
  const s = summariseAdversarial(r);
  for (const [L, rate] of s.idRates) {
    const j = r.layers.indexOf(L);
    const flips = r.questions.filter((q) => q.id[j].flipped === true).length;
    assert.equal(rate.flipped, flips);
    assert.equal(rate.counted + rate.excluded, r.questions.length);
  }
  assert.equal(s.top.layers.length, 3);
  close(s.top.id.mean, s.all.id.mean, 1e-12, "top-3 of 3 layers = all layers");
  assert.equal(s.test.idMore + s.test.noiseMore + s.test.ties, r.questions.length);
  // re-running gives the same numbers (seeded noise)
  const again = await adversarialSteering(model, lr, ids, { factor: 5, generate: 2, layers: [0, 1, 2], seed: 1 });
  assert.deepEqual(again.questions.map((q) => q.noise!.map((o) => o.d.toFixed(5))), r.questions.map((q) => q.noise!.map((o) => o.d.toFixed(5))));
  const p = steerabilityPoint(r);
  assert.equal(p.idAccuracy.length, 3);
  for (let j = 0; j < 3; j++) close(p.drop.noiseSubtracted!.drops[j], p.noiseAccuracy[j] - p.idAccuracy[j], 1e-12, "noise-subtracted drop");
});

test("flip summary and sign test on a hand-made run", () => {
  const mk = (d0: number, id: number[], noise: number[]) => ({
    index: 0, task: "clutter-lr", question: "", answer: "left", other: "right", lpGt: 0, lpOther: 0, d0, believed: "left", text: "left",
    verdict: "correct" as const, norms: { subject: [1, 1], reference: [1, 1] },
    id: id.map((d) => ({ d, flipped: Math.sign(d) !== Math.sign(d0), text: d > 0 ? "left" : "right", verdict: d > 0 ? ("correct" as const) : ("wrong" as const) })),
    noise: noise.map((d) => ({ d, flipped: Math.sign(d) !== Math.sign(d0), text: "left", verdict: "correct" as const })),
  });
  const r: AdversarialResult = {
    model: "toy-llava-zoo-1500", layers: [3, 4], factor: 5, runs: 0, sessionCalls: 0, seconds: 0,
    questions: [mk(1, [-1, 2], [1, 1]), mk(2, [-1, -1], [1, -1]), mk(1, [1, 1], [1, 1]), mk(0.5, [-2, 3], [3, 3])],
  };
  const s = summariseAdversarial(r, 1);
  assert.equal(s.idRates.get(3)!.rate, 3 / 4);
  assert.equal(s.idRates.get(4)!.rate, 1 / 4);
  assert.equal(s.noiseRates.get(4)!.rate, 1 / 4);
  assert.deepEqual(s.top.layers, [3]);
  assert.equal(s.top.control.mean, 0);
  assert.deepEqual([s.test.idMore, s.test.noiseMore, s.test.ties], [3, 0, 1]);
  close(s.test.p, 0.25, 1e-12, "sign test 3 of 3");
  assert.deepEqual(s.test.perLayer.map((x) => [x.idOnly, x.noiseOnly]), [[3, 0], [0, 0]]);
  const p = steerabilityPoint(r);
  assert.equal(p.baseline, 1);
  assert.deepEqual(p.idAccuracy, [1 / 4, 3 / 4]);
  close(p.steerability.mean, (3 / 4 + 1 / 4) / 2, 1e-12, "noise-subtracted steerability");
  close(p.authors.mean, 0.5, 1e-12, "authors' steerability");
  assert.equal(p.family, "toy-llava");
  assert.equal(modelFamily("/x/toy-llava-zoo-750/"), "toy-llava");
  close(binomialTwoSided(0, 10), 2 / 1024, 1e-15, "binomial");
  assert.equal(binomialTwoSided(5, 10), 1);
  assert.equal(binomialTwoSided(0, 0), 1);
});

test("cell sweep: m = 0 changes nothing; mirrored cells get opposite vectors; GT split sizes add up", async () => {
  const zero = await cellSweep(model, lr, ids, { m: 0, layers: [1], cells: [{ x: 0, y: 0 }, { x: 3, y: 0 }] });
  for (const q of zero.questions) for (const c of q.change[0]) for (const w of ["left", "right"]) close(c[w], 0, 1e-4, `m=0 change ${w}`);
  const r = await cellSweep(model, lr, ids, { m: 5, layers: [0, 2] });
  assert.equal(r.runs, lr.length * (1 + 2 * 16));
  const curves = cellCurves(r, [0, 1, 2, 3].map((x) => ({ x, y: 0 })));
  for (const L of [0, 2]) {
    const groups = curves.filter((c) => c.layer === L);
    assert.equal(groups.reduce((t, c) => t + c.n, 0), lr.length);
    for (const g of groups) assert.equal(g.n, lr.filter((s) => s.answer === g.groundTruth).length);
  }
  // a single question: the change at c and at mirror(c) comes from vectors v and −v (not equal unless the model is flat)
  const k0 = r.cells.findIndex((c) => c.x === 0 && c.y === 0), k3 = r.cells.findIndex((c) => c.x === 3 && c.y === 0);
  assert.notEqual(r.questions[0].change[0][k0].left, r.questions[0].change[0][k3].left);
  const ct = cellContrast(r, 2, { x: 3, y: 0 }, { x: 0, y: 0 }, "right", "left");
  assert.equal(ct.positive + ct.negative <= lr.length, true);
  assert.throws(() => cellContrast(r, 1, { x: 3, y: 0 }, { x: 0, y: 0 }, "right", "left"), /layer 1 was not run/);
  await assert.rejects(cellSweep(model, [...lr, ab[0]], ids), /mix tasks/);
});

test("layer sweep: m = 0 reproduces the clean log-probs; Int 1 and Int 2 are distinct", async () => {
  const z = await layerSweep(model, lr[0], ids, { m: 0 });
  for (let k = 0; k < z.layers.length; k++)
    for (const w of ["left", "right"]) {
      close(z.int1[k][w], z.none[w], 1e-4, `int1 ${w}`);
      close(z.int2[k][w], z.none[w], 1e-4, `int2 ${w}`);
    }
  const r = await layerSweep(model, lr[0], ids, { m: 5, idLayer: 1 });
  assert.equal(r.runs, 1 + 2 * model.numLayers);
  assert.notEqual(r.int1[1].left, r.int2[1].left);
});

test("depth vs height: both prompts steered, m = 0 gives zero effects, correlation over (question, row) pairs", async () => {
  const z = await depthVsHeight(model, ab, ids, { m: 0, layers: [1] });
  for (const q of z.questions)
    for (const c of [...q.height.change[0], ...q.depth.change[0]]) for (const v of Object.values(c)) close(v, 0, 1e-4, "m=0");
  const r = await depthVsHeight(model, ab, ids, { m: 5, layers: [0, 1] });
  assert.equal(r.runs, ab.length * 2 * (1 + 2 * 4));
  for (const q of r.questions) {
    assert.ok(q.height.question.includes("above or below") && q.depth.question.includes("in front of or behind"));
    assert.deepEqual(Object.keys(q.height.clean).sort(), ["above", "below"]);
    assert.deepEqual(Object.keys(q.depth.clean).sort(), ["behind", "front"]);
  }
  const s = summariseDepthHeight(r, 1);
  assert.equal(s.pairs.heightEffect.length, ab.length * 4);
  assert.ok(s.pearson >= -1 && s.pearson <= 1);
  assert.equal(s.height.mean.above.length, 4);
  assert.throws(() => summariseDepthHeight(r, 2), /layer 2 was not run/);
});
