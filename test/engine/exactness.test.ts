// The instrumented graph computes exactly the plain model when nothing is edited; identity edits change nothing;
// batching and prefix reuse agree with single full runs.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { add, decodeModel, Edit, encodeModel, loadModel, Model, OptimizationLevel, PreparedInput, replace, resid } from "linmech";
import { BUNDLE, bitEqual, ensureFixture, FIXTURE, maxAbsDiff, Reference } from "./fixture";

let ref: Reference;
let model: Model;
let x: PreparedInput, y: PreparedInput, z: PreparedInput;

before(async () => {
  ref = ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  const p = (k: number) => model.prepare({ image: join(FIXTURE, ref.inputs[k].image), prompt: ref.inputs[k].question });
  [x, y, z] = [await p(0), await p(1), await p(2)];
});

for (const level of ["disabled", "basic", "extended", "all"] as OptimizationLevel[]) {
  test(`instrumented but unedited == plain model, bit for bit (optimisation ${level})`, async () => {
    const plain = await loadModel(BUNDLE, { threads: 1, optimization: level, instrumented: false });
    const inst = await loadModel(BUNDLE, { threads: 1, optimization: level });
    for (const input of [x, z]) {
      const a = await plain.patch(input, [], { generate: 3 });
      const b = await inst.patch(input, [], { generate: 3 });
      assert.ok(bitEqual(a.lastLogits, b.lastLogits), "last logits differ");
      assert.deepEqual(a.generated!.ids, b.generated!.ids);
    }
    // reading sites does not disturb the output either
    // (both unsplit: a prefix-reuse run splits where the first read sits, and a split run differs in rounding)
    const c = await inst.trace(x, inst.sites, { prefixReuse: false });
    assert.ok(bitEqual(c.lastLogits, (await plain.patch(x, [], { prefixReuse: false })).lastLogits));
  });
}

test("patch: identity replace (values from the clean run) == clean run, bit for bit", async () => {
  const clean = await model.trace(x, model.sites);
  for (const site of model.sites) {
    const out = await model.patch(x, [replace(site, [...x.ids.keys()], clean.get(site))], { prefixReuse: false });
    assert.ok(bitEqual(out.lastLogits, clean.lastLogits), site);
  }
  const zero = new Array(model.width).fill(0);
  const out = await model.patch(x, [add(resid(1), [3, 21, 32], zero)]);
  assert.ok(maxAbsDiff(out.lastLogits, clean.lastLogits) <= 1e-5);
});

test("patch: an edit at a position changes the run only from that position on (causality)", async () => {
  const v = Array.from({ length: model.width }, (_, j) => Math.sin(j));
  const p = x.positionOf("camel");
  const clean = await model.trace(x, model.sites);
  const out = await model.patch(x, [add(resid(0), p, v)], { trace: model.sites });
  const w = model.width;
  for (const s of model.sites.slice(1)) {
    assert.ok(maxAbsDiff(out.get(s).data.subarray(0, p * w), clean.get(s).data.subarray(0, p * w)) <= 1e-5, s);
    assert.ok(maxAbsDiff(out.get(s).data.subarray(p * w), clean.get(s).data.subarray(p * w)) > 1e-3, s);
  }
});

function sweep(input: PreparedInput): Edit[][] {
  const sets: Edit[][] = [];
  const f = input.positionOf("frog");
  for (let layer = 0; layer < model.numLayers; layer++)
    for (let c = 0; c < 4; c++) sets.push([add(resid(layer), f, Array.from({ length: model.width }, (_, j) => Math.cos(j * (c + 1)) * 2))]);
  sets.push([replace(resid(1), [f, input.positionOf("camel")], [new Array(model.width).fill(0.5), new Array(model.width).fill(-0.5)])]);
  sets.push([]);
  return sets;
}

test("patchMany: batched + prefix reuse == one full run per edit set (≤ 1e-5)", async () => {
  const sets = sweep(x);
  const many = await model.patchMany(x, sets, { logprobs: ["left", "right"], batchSize: 5 });
  for (let k = 0; k < sets.length; k++) {
    const single = await model.patch(x, sets[k], { logprobs: ["left", "right"], prefixReuse: false });
    const d = maxAbsDiff(many[k].lastLogprobs, single.lastLogprobs);
    assert.ok(d <= 1e-5, `edit set ${k}: ${d}`);
  }
});

test("prefix reuse == full recomputation for traces and generation (≤ 1e-5)", async () => {
  const f = x.positionOf("frog");
  const e = [add(resid(1), f, new Array(model.width).fill(1))];
  const opts = { trace: [{ site: resid(2), positions: [f, x.lastToken()] }], generate: 3 };
  const full = (await model.patchMany(x, [e], { ...opts, prefixReuse: false }))[0];
  const reuse = (await model.patchMany(x, [e], { ...opts, prefixReuse: true }))[0];
  assert.ok(maxAbsDiff(full.get(resid(2)).data, reuse.get(resid(2)).data) <= 1e-5);
  assert.ok(maxAbsDiff(full.lastLogprobs, reuse.lastLogprobs) <= 1e-5);
  assert.deepEqual(full.generated!.ids, reuse.generated!.ids);
});

test("patchBatch: many inputs batched == each alone (≤ 1e-5), results in input order", async () => {
  const items = [x, y, z, x, y].map((input, k) => ({ input, edits: k % 2 ? [add(resid(0), input.positionOf("frog"), new Array(model.width).fill(k))] : [] }));
  let calls = 0;
  const batch = await model.patchBatch(items, { logprobs: ["left"], batchSize: 4, onProgress: () => calls++ });
  assert.equal(batch.length, items.length);
  assert.ok(calls >= 2);
  for (let k = 0; k < items.length; k++) {
    const single = await model.patch(items[k].input, items[k].edits, { logprobs: ["left"], prefixReuse: false });
    assert.ok(maxAbsDiff(batch[k].lastLogprobs, single.lastLogprobs) <= 1e-5, `item ${k}`);
  }
});

test("graphs below opset 16 (no ScatterND reduction) get the GatherND+Add write path, with identical results", async () => {
  const dir = mkdtempSync(join(tmpdir(), "linmech-opset15-"));
  try {
    cpSync(BUNDLE, dir, { recursive: true });
    const p = join(dir, "onnx", "decoder_model_merged.onnx");
    const m = decodeModel(readFileSync(p), p);
    m.opset_import = (m.opset_import ?? []).map((o) => ({ ...o, version: 15 }));
    writeFileSync(p, encodeModel(m));
    const old = await loadModel(dir, { threads: 1 });
    const f = x.positionOf("frog"), c = x.positionOf("camel");
    const edits = [
      replace(resid(1), [f], [new Array(model.width).fill(0.25)]),
      add(resid(1), [c, x.lastToken()], Array.from({ length: model.width }, (_, j) => Math.cos(j))),
      add(resid(2), f, new Array(model.width).fill(-1)),
    ];
    const opts = { trace: [{ site: resid(2), positions: [f, c] }], prefixReuse: false };
    const a = await model.patch(x, edits, opts), b = await old.patch(x, edits, opts);
    assert.ok(bitEqual(a.lastLogits, b.lastLogits));
    assert.ok(bitEqual(a.get(resid(2)).data, b.get(resid(2)).data));
    await old.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a prefix cache too small to hold a prefix still gives the same results (prefix recomputed per chunk)", async () => {
  const small = await loadModel(BUNDLE, { threads: 1, prefixCacheMB: 0 });
  const sets = sweep(x);
  const a = await model.patchMany(x, sets, { logprobs: ["left"], batchSize: 4 });
  const b = await small.patchMany(x, sets, { logprobs: ["left"], batchSize: 4 });
  for (let k = 0; k < sets.length; k++) assert.ok(bitEqual(a[k].lastLogprobs, b[k].lastLogprobs), `edit set ${k}`);
  await assert.rejects(loadModel(BUNDLE, { prefixCacheMB: -1 }), /prefixCacheMB must be a number of MiB ≥ 0, got -1/);
});
