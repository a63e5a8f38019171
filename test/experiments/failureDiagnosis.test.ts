// Fig 8 (failure diagnosis): the pieces on constructed data (margin signs, GT interpolation in the model frame, random
// boxes, blurring) and the two experiments on the tiny random LLaVA fixture (measured ID = image − text-only trace,
// verdicts, the masking statistic).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import {
  Box, blurBox, defaultBlurSigma, describeDeviationClaim, diagnosisLayer, DeviationResult, failureSamples, FailureSample,
  groundTruthDeviation, gridId, IdGrids, imageMasking, layerPlane, loadModel, maskingBoxes, Model, modelFrame, modelFrameCentre,
  PAPER_OBJECTS, predictedAnswer, questionGeometry, resid, spatialAxes, SpatialIdGrid, summariseDeviation, summariseMasking,
  traceUniversalIds, visibleRegion, type MaskingResult, type PreprocessorConfig,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** A 4×4 grid whose ID at (x, y) is x·e0 + y·e1 (+ a constant c·e2): axes h ∥ e0, v ∥ e1. */
function linearGrid(dim = 5, c = 0.7): SpatialIdGrid {
  const data = new Float64Array(16 * dim);
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 4; x++) {
      const r = (y * 4 + x) * dim;
      data[r] = x;
      data[r + 1] = y;
      data[r + 2] = c;
    }
  return { m: 4, dim, data };
}

const cellCentre = (i: number): number => (i + 0.5) / 4;

test("margin signs per relation on constructed IDs: measured = GT → 0; pushing the relation's way → positive", () => {
  const g = linearGrid();
  const ids: IdGrids = { grids: { [resid(0)]: g } };
  const plane = layerPlane(ids, 0);
  // subject in cell (3, 0), reference in cell (0, 3): subject is right of and above the reference
  const centres = { subject: [cellCentre(3), cellCentre(0)] as [number, number], reference: [cellCentre(0), cellCentre(3)] as [number, number] };
  const exact = { subject: gridId(g, { x: 3, y: 0 }), reference: gridId(g, { x: 0, y: 3 }) };
  for (const rel of ["left", "right", "above", "below"] as const) close(questionGeometry(plane, rel, exact, centres).margin, 0, 1e-9, `${rel} exact`);
  const shifted = (dx: number, dy: number) => ({ subject: Float64Array.from(exact.subject, (v, j) => v + (j === 0 ? dx : j === 1 ? dy : 0)), reference: exact.reference });
  // subject moved 1 further right: "right" more strongly expressed (+1), "left" less (−1); vertical margins unchanged
  const r = shifted(1, 0);
  close(questionGeometry(plane, "right", r, centres).margin, 1, 1e-9, "right +1");
  close(questionGeometry(plane, "left", r, centres).margin, -1, 1e-9, "left −1");
  close(questionGeometry(plane, "above", r, centres).margin, 0, 1e-9, "above unchanged");
  // subject moved 2 down (v points down): "below" +2, "above" −2
  const d = shifted(0, 2);
  close(questionGeometry(plane, "below", d, centres).margin, 2, 1e-9, "below +2");
  close(questionGeometry(plane, "above", d, centres).margin, -2, 1e-9, "above −2");
  // the separation alone: subject right of reference by 3 cells in the measured IDs
  close(questionGeometry(plane, "right", exact, centres).separation, 3, 1e-9, "separation right");
  close(questionGeometry(plane, "left", exact, centres).separation, -3, 1e-9, "separation left");
  // a constant offset common to both measured IDs cancels
  const off = { subject: exact.subject.map((v) => v + 5), reference: exact.reference.map((v) => v + 5) };
  close(questionGeometry(plane, "right", off, centres).margin, 0, 1e-9, "common offset");
  assert.throws(() => questionGeometry(plane, "right", { subject: new Float64Array(3), reference: new Float64Array(3) }, centres), /dims/);
});

test("GT interpolation at a box centred in a cell equals that cell's ID (model frame, centred grid); the authors' grid is shifted", () => {
  const g = linearGrid();
  const ids: IdGrids = { grids: { [resid(2)]: g } };
  const plane = layerPlane(ids, 2);
  const cfg: PreprocessorConfig = { do_resize: true, size: { shortest_edge: 64 }, do_center_crop: false };
  for (const [cx, cy] of [[0, 0], [2, 1], [3, 3]]) {
    const box: Box = [cx * 16 + 4, cy * 16 + 2, cx * 16 + 12, cy * 16 + 14]; // centred in cell (cx, cy) of a 64-px image
    const c = modelFrameCentre(box, 64, 64, cfg, 64);
    assert.equal(c.outside, false);
    close(c.nx, cellCentre(cx), 1e-12, "nx");
    const geo = questionGeometry(plane, "right", { subject: gridId(g, { x: cx, y: cy }), reference: gridId(g, { x: 0, y: 0 }) }, { subject: [c.nx, c.ny], reference: [cellCentre(0), cellCentre(0)] });
    close(geo.gt.subject[0], geo.measured.subject[0], 1e-9, `cell (${cx}, ${cy}) x`);
    close(geo.gt.subject[1], geo.measured.subject[1], 1e-9, `cell (${cx}, ${cy}) y`);
    close(geo.margin, 0, 1e-9, "margin");
    // the authors' grid puts index i at i/4: the same centre reads half a cell further right/down (clamped at 3)
    const a = questionGeometry(plane, "right", { subject: gridId(g, { x: cx, y: cy }), reference: gridId(g, { x: 0, y: 0 }) }, { subject: [c.nx, c.ny], reference: [cellCentre(0), cellCentre(0)] }, "authors");
    if (cx < 3) close(a.gt.subject[0] - a.gt.reference[0], cx, 1e-9, "authors' shift cancels in the difference");
  }
});

test("model frame: a centre crop moves the normalised centre; cropped-away centres are flagged; the visible region maps back", () => {
  // LLaVA-1.5 style: shortest edge 336, crop 336 — a 640×480 image becomes 448×336, crop window x ∈ [56, 392)
  const cfg: PreprocessorConfig = { do_resize: true, size: { shortest_edge: 336 }, do_center_crop: true, crop_size: { height: 336, width: 336 } };
  const f = modelFrame(cfg, 640, 480, 336);
  assert.deepEqual(f.resized, [448, 336]);
  assert.deepEqual(f.crop, [56, 0, 336, 336]);
  // the image's centre stays the frame's centre; the full-image normalisation (authors) would agree only there
  const mid = modelFrameCentre([300, 220, 340, 260], 640, 480, cfg, 336);
  close(mid.nx, 0.5, 1e-9, "centre x");
  close(mid.ny, 0.5, 1e-9, "centre y");
  // a box centred at x = 480 of 640 (0.75 of the image) sits at (480·0.7 − 56)/336 = 0.8333 of the crop
  const right = modelFrameCentre([470, 100, 490, 120], 640, 480, cfg, 336);
  close(right.nx, (480 * 0.7 - 56) / 336, 1e-9, "cropped frame x");
  assert.equal(right.outside, false);
  const gone = modelFrameCentre([0, 100, 20, 120], 640, 480, cfg, 336);
  assert.equal(gone.outside, true);
  assert.equal(gone.nx, 0);
  assert.deepEqual(visibleRegion(640, 480, cfg, 336), [80, 0, 560, 480]);
  // the toy bundles: no crop → the full image is the frame
  assert.deepEqual(visibleRegion(64, 64, { do_resize: true, size: { shortest_edge: 64 } }, 64), [0, 0, 64, 64]);
  assert.throws(() => modelFrame({ do_center_crop: true, crop_size: 100, do_resize: false }, 64, 64, 64), /smaller than the crop/);
});

function sampleWith(subjectBox: Box, referenceBox: Box, index = 0, size = 64): FailureSample {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 5) * 11) % 251; // texture, so a blur changes pixels
  return {
    task: "clutter-lr", index, image: { width: size, height: size, data }, question: "Is the frog to the left or right of the camel?", subject: "frog", reference: "camel",
    answer: "left", other: "right", answers: ["left", "right"], subjectBox, referenceBox,
  };
}

test("random boxes: same size as the subject, inside the region, never intersecting either object, reproducible per seed", () => {
  for (let i = 0; i < 30; i++) {
    const s = sampleWith([4 + i, 10, 20 + i, 26], [30, 30 + (i % 10), 46, 46 + (i % 10)], i);
    const boxes = maskingBoxes(s, 10, 42);
    assert.ok(boxes.length > 0, `question ${i}: no box found`);
    for (const b of boxes) {
      assert.equal(b[2] - b[0], 16);
      assert.equal(b[3] - b[1], 16);
      assert.ok(b[0] >= 0 && b[1] >= 0 && b[2] <= 64 && b[3] <= 64, `box ${b} outside the image`);
      for (const o of [s.subjectBox, s.referenceBox]) {
        const w = Math.min(b[2], o[2]) - Math.max(b[0], o[0]), h = Math.min(b[3], o[3]) - Math.max(b[1], o[1]);
        assert.ok(!(w > 0 && h > 0), `box ${b} intersects object ${o}`);
      }
    }
    assert.equal(new Set(boxes.map(String)).size, boxes.length, "boxes are distinct");
    assert.deepEqual(maskingBoxes(s, 10, 42), boxes, "same seed, same boxes");
  }
  const s = sampleWith([4, 10, 20, 26], [30, 30, 46, 46]);
  assert.notDeepEqual(maskingBoxes(s, 10, 43), maskingBoxes(s, 10, 42), "another seed moves the boxes");
  // inside a crop region (offset): boxes stay inside it
  for (const b of maskingBoxes(s, 10, 42, [8, 0, 56, 64])) assert.ok(b[0] >= 8 && b[2] <= 56, `box ${b} outside the region`);
  // no room: an object as large as the image
  assert.deepEqual(maskingBoxes(sampleWith([0, 0, 64, 64], [0, 0, 10, 10]), 5, 1), []);
});

test("blurring a random box changes it and leaves every other pixel (both objects included) bit-identical", async () => {
  const s = sampleWith([4, 10, 20, 26], [40, 36, 56, 52]);
  const [b] = maskingBoxes(s, 1, 42);
  const out = await blurBox(s.image, b, defaultBlurSigma(64, 64));
  close(defaultBlurSigma(64, 64), 2, 1e-12, "sigma at 64 px");
  let changedInside = 0;
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++) {
      const inBox = x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
      for (let c = 0; c < 3; c++) {
        const i = (y * 64 + x) * 3 + c;
        if (!inBox) assert.equal(out.data[i], s.image.data[i], `pixel (${x}, ${y}) outside the blurred box changed`);
        else if (out.data[i] !== s.image.data[i]) changedInside++;
      }
    }
  assert.ok(changedInside > 100, `the blur changed only ${changedInside} values inside the box`);
});

test("verdict = argmax of the two answer words; diagnosisLayer picks the ordered middle block with the largest plane share", () => {
  assert.equal(predictedAnswer({ left: -0.2, right: -1.8 }, ["left", "right"]), "left");
  assert.equal(predictedAnswer({ above: -2, below: -0.1 }, ["above", "below"]), "below");
  assert.throws(() => predictedAnswer({ left: -1 }, ["left", "right"]), /finite/);
  // 8 blocks: block 5's grid is purely 2-D (plane share 1); the others get a large third direction
  const noisy = (L: number): SpatialIdGrid => {
    const g = linearGrid(6, 0);
    for (let r = 0; r < 16; r++) g.data[r * 6 + 3] = L === 5 ? 0 : 3 * Math.sin(r * 2.1 + L);
    return g;
  };
  const grids: Record<string, SpatialIdGrid> = {};
  for (let L = 0; L < 8; L++) grids[resid(L)] = noisy(L === 0 ? 5 : L); // block 0 is also clean, but not a middle block
  const d = diagnosisLayer({ grids }, 8);
  assert.equal(d.layer, 5);
  assert.deepEqual(d.table.filter((t) => t.middle).map((t) => t.layer), [2, 3, 4, 5]);
  close(d.table[5].explained, 1, 1e-9, "plane share of the clean grid");
});

test("summaries: margins split by verdict, Mann–Whitney direction, claim verdicts; masking split by the 8a verdicts", () => {
  const geo = (margin: number) => ({ measured: { subject: [0, 0] as [number, number], reference: [0, 0] as [number, number] }, gt: { subject: [0, 0] as [number, number], reference: [0, 0] as [number, number] }, margin, separation: margin + 1 });
  const q = (i: number, correct: boolean, margin: number) => ({
    task: "clutter-lr" as const, index: i, question: "", subject: "a", reference: "b", answer: "left" as const, predicted: (correct ? "left" : "right") as "left" | "right",
    correct, logprobs: {}, centres: { subject: [0, 0] as [number, number], reference: [0, 0] as [number, number] }, outside: false, perLayer: [geo(margin)],
  });
  const dev: DeviationResult = {
    model: "x", layers: [3], interpolation: "centred", frame: "model", runs: 0, sessionCalls: 0, seconds: 0,
    questions: [...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((m, i) => q(i, true, m)), ...[-5, -4, -3, -2.5, -1.5, -6, -7, -8, -9, -10].map((m, i) => q(100 + i, false, m))],
  };
  const s = summariseDeviation(dev, 3);
  assert.equal(s.correct.n, 10);
  assert.equal(s.wrong.n, 10);
  assert.equal(s.wrong.negative, 1);
  assert.ok(s.test.greater < 1e-3 && s.test.less > 0.99, `correct > wrong: p ${s.test.greater} / ${s.test.less}`);
  assert.ok(describeDeviationClaim(s).every((c) => c.pass));
  assert.throws(() => summariseDeviation(dev, 4), /was not run/);
  // masking: q 0 is wrong in 8a although its 8b run (made-up) says correct → counted as a mismatch, split by 8a
  const mq = (i: number, correct: boolean, diff: number) => ({ task: "clutter-lr" as const, index: i, answer: "left" as const, correct, boxes: [], lpCorrect: [-1, -1 - diff, -1, -1], lpOther: [-2, -2, -2, -2], diff, diffAuthors: NaN });
  const mk: MaskingResult = { model: "x", k: 2, sigma: 2, seed: 1, noRoom: 0, runs: 0, sessionCalls: 0, seconds: 0, questions: [mq(100, true, 3), mq(0, true, 0.1), mq(101, false, 2)] };
  const ms = summariseMasking(mk, dev);
  assert.equal(ms.verdictMismatch, 1);
  assert.deepEqual(ms.diffs.correct, [0.1]);
  assert.deepEqual(ms.diffs.wrong, [3, 2]);
  assert.equal(summariseMasking(mk, dev, "authors").excluded, 3);
});

// ---------------------------------------------------------------------------------------------------------------
// On the fixture model

let model: Model;
let ids: IdGrids;
let samples: FailureSample[];

before(async () => {
  ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  ids = await traceUniversalIds(model, { objects: ["frog", "camel"] });
  const opts = { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 5 };
  samples = [...(await failureSamples("clutter-lr", 3, opts)), ...(await failureSamples("clutter-ab", 2, opts))];
});

test("failureSamples: seeded, boxes of the asked objects consistent with the answer", async () => {
  for (const s of samples) {
    const c = (b: Box, k: number) => (b[k] + b[k + 2]) / 2;
    const k = s.task === "clutter-lr" ? 0 : 1;
    const subjectFirst = c(s.subjectBox, k) < c(s.referenceBox, k);
    assert.equal(s.answer, s.task === "clutter-lr" ? (subjectFirst ? "left" : "right") : subjectFirst ? "above" : "below");
    assert.ok(s.question.includes(s.subject) && s.question.includes(s.reference));
  }
  const again = await failureSamples("clutter-lr", 3, { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 5 });
  assert.deepEqual(again.map((s) => [s.question, s.answer, s.subjectBox]), samples.slice(0, 3).map((s) => [s.question, s.answer, s.subjectBox]));
  await assert.rejects(failureSamples("grid-lr" as never, 1, { size: 32 }), /task must be one of/);
});

test("8a on the fixture: measured ID = image trace − text-only trace, verdict from the log-probs, geometry reproduced", async () => {
  const r = await groundTruthDeviation(model, samples, ids, { layers: [0, 2] });
  assert.equal(r.questions.length, samples.length);
  assert.equal(r.runs, samples.length + new Set(samples.map((s) => s.question)).size);
  const s = samples[1], q = r.questions[1];
  const img = await model.prepare({ image: s.image, prompt: s.question });
  const txt = await model.prepare({ prompt: s.question });
  for (const [l, L] of [0, 2].entries()) {
    const a = await model.trace(img, [{ site: resid(L), positions: [img.positionOf(s.subject), img.positionOf(s.reference)] }], { logprobs: s.answers, prefixReuse: false });
    const b = await model.trace(txt, [{ site: resid(L), positions: [txt.positionOf(s.subject), txt.positionOf(s.reference)] }], { prefixReuse: false });
    const e = (row: number) => Float64Array.from(a.get(resid(L)).row(row), (v, j) => v - b.get(resid(L)).row(row)[j]);
    const plane = layerPlane(ids, L);
    const want = questionGeometry(plane, s.answer, { subject: e(0), reference: e(1) }, q.centres);
    close(q.perLayer[l].margin, want.margin, 1e-3 * (1 + Math.abs(want.margin)), `margin at block ${L}`);
    close(q.perLayer[l].measured.subject[0], want.measured.subject[0], 1e-3 * (1 + Math.abs(want.measured.subject[0])), "measured x");
    if (l === 0) {
      assert.equal(q.predicted, predictedAnswer(a.logprobs, s.answers));
      assert.equal(q.correct, q.predicted === s.answer);
    }
  }
  // GT centres are the boxes' centres (no crop in the fixture's preprocessing)
  close(q.centres.subject[0], (s.subjectBox[0] + s.subjectBox[2]) / 2 / s.image.width, 1e-12, "centre");
  // the axes used are the grids' spatialAxes
  const p = layerPlane(ids, 2), ax = spatialAxes(ids.grids[resid(2)]);
  const nh = Math.hypot(...ax.h);
  close(p.u[0], ax.h[0] / nh, 1e-12, "u ∥ h");
});

test("8b on the fixture: K + 2 images per question, the original's log-prob is the plain run's, diff = min(random) − subject-blurred", async () => {
  const r = await imageMasking(model, samples.slice(0, 3), { k: 4, seed: 9 });
  assert.equal(r.questions.length, 3);
  for (const [i, q] of r.questions.entries()) {
    const s = samples[i];
    assert.equal(q.lpCorrect.length, 2 + q.boxes.length);
    assert.ok(q.boxes.length >= 1 && q.boxes.length <= 4);
    const plain = await model.patch(await model.prepare({ image: s.image, prompt: s.question }), [], { logprobs: s.answers });
    close(q.lpCorrect[0], plain.logprobs[s.answer], 1e-4, "original lp");
    const blurred = await model.patch(await model.prepare({ image: await blurBox(s.image, s.subjectBox, r.sigma), prompt: s.question }), [], { logprobs: s.answers });
    close(q.lpCorrect[1], blurred.logprobs[s.answer], 1e-4, "subject-blurred lp");
    close(q.diff, Math.min(...q.lpCorrect.slice(2)) - q.lpCorrect[1], 1e-12, "diff");
    assert.deepEqual(q.boxes, maskingBoxes(s, 4, 9));
  }
  const again = await imageMasking(model, samples.slice(0, 3), { k: 4, seed: 9 });
  assert.deepEqual(again.questions.map((q) => q.diff), r.questions.map((q) => q.diff), "reproducible");
});
