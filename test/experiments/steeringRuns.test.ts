// Helpers the steering notebooks (Fig 2, 6, 7, 9) build on, on the tiny random LLaVA fixture: universal IDs loaded or
// computed, the model list of the zoo, the cached per-model adversarial run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  adversarialForModel, bundleFingerprint, idGridAt, loadModel, marginShift, Model, sceneObjectsFor, spearmanPermutationP, steeringModels,
  universalIdsFor,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

let model: Model;
let tmp: string;

before(async () => {
  ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  tmp = mkdtempSync(join(tmpdir(), "linmech-steering-"));
});

after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test("universalIdsFor: computes and saves, then loads the same IDs; other objects are recomputed", async () => {
  const base = join(tmp, "ids", "fixture");
  let calls = 0;
  const a = await universalIdsFor(model, { path: base, objects: ["frog", "camel"], onProgress: () => calls++ });
  assert.match(a.source, /^computed from 480 traces \(2 pairs of frog, camel\), saved to/);
  assert.equal(calls, 2);
  assert.ok(existsSync(`${base}.safetensors`) && existsSync(`${base}.json`));
  assert.equal(a.sites.length, model.numLayers);
  const b = await universalIdsFor(model, { path: base, objects: ["camel", "frog"] });
  assert.match(b.source, /^loaded /);
  for (let L = 0; L < model.numLayers; L++) {
    const ga = idGridAt(a, L).data, gb = idGridAt(b, L).data;
    for (let i = 0; i < ga.length; i++) assert.ok(Math.abs(ga[i] - gb[i]) <= 1e-5 * Math.max(1, Math.abs(ga[i])), `layer ${L} entry ${i}`);
  }
  const c = await universalIdsFor(model, { path: base, objects: ["frog", "dog"], save: false });
  assert.match(c.source, /computed from 480 traces .*other objects: \["frog","camel"\]/);
  assert.doesNotMatch(c.source, /saved/);
  await assert.rejects(universalIdsFor(model, { path: base, objects: ["frog"] }), /at least 2 objects/);
});

test("steeringModels: image bundles only, base model first, zoo by step, extras appended once", () => {
  const dir = join(tmp, "models");
  const mk = (name: string, family: string | null) => {
    mkdirSync(join(dir, name), { recursive: true });
    if (family !== null) writeFileSync(join(dir, name, "linmech.json"), JSON.stringify({ family }));
  };
  mk("toy-llava-zoo-2000", "llava");
  mk("toy-llava", "llava");
  mk("toy-llava-zoo-500", "llava");
  mk("toy-llava-zoo-1000", "llava");
  mk("toy-llava-video", "llava-video");
  mk("not-a-bundle", null);
  assert.deepEqual(steeringModels([], dir), ["toy-llava", "toy-llava-zoo-500", "toy-llava-zoo-1000", "toy-llava-zoo-2000"]);
  assert.deepEqual(steeringModels(["/x/llava-7b", "toy-llava", ""], dir).slice(-2), ["toy-llava-zoo-2000", "/x/llava-7b"]);
  assert.deepEqual(steeringModels(["a"], join(tmp, "missing")), ["a"]);
  writeFileSync(join(dir, "toy-llava", "linmech.json"), "{broken");
  assert.throws(() => steeringModels([], dir), /toy-llava.*linmech.json is not valid JSON/);
});

test("sceneObjectsFor and bundleFingerprint", () => {
  const objs = sceneObjectsFor(model);
  if (objs !== undefined) {
    assert.ok(objs.length >= 3, `fixture knows ${objs.length} objects`);
    for (const o of objs) assert.ok(!model.text.wordTokens(o).ids.includes(model.text.tokenToId("<unk>") ?? -1));
  }
  const fp = bundleFingerprint(model) as { model: string; files: Record<string, [number, number]> };
  assert.equal(fp.model, model.name);
  assert.ok(fp.files["linmech.json"][0] > 0);
});

test("adversarialForModel: runs n + n questions, caches by fingerprint, recomputes when a parameter changes", async () => {
  const cacheDir = join(tmp, "cache");
  const opts = { n: 1, layers: [0, 1], generate: 1, idObjects: ["frog", "camel"], idPath: join(tmp, "ids", "run"), cacheDir, cacheSuffix: "-t", load: { threads: 1 } };
  const a = await adversarialForModel(BUNDLE, opts);
  assert.equal(a.source, "computed");
  assert.match(a.idSource, /computed from 480 traces/);
  assert.equal(a.result.questions.length, 2);
  assert.deepEqual(a.result.questions.map((q) => q.task), ["clutter-lr", "clutter-ab"]);
  assert.equal(a.result.runs, 2 * (1 + 2 * 2));
  assert.ok(a.file && existsSync(a.file));
  const b = await adversarialForModel(BUNDLE, opts);
  assert.match(b.source, /^cache /);
  assert.deepEqual(b.result.questions.map((q) => q.id.map((o) => o.d)), a.result.questions.map((q) => q.id.map((o) => o.d)));
  const c = await adversarialForModel(BUNDLE, { ...opts, factor: 0 });
  assert.equal(c.source, "computed");
  assert.match(c.idSource, /^loaded /);
  const shift = marginShift(c.result);
  assert.deepEqual(shift.map((s) => s.layer), [0, 1]);
  for (const s of shift) {
    assert.ok(s.id < 1e-4 && s.noise < 1e-4, `factor 0 moves nothing: ${JSON.stringify(s)}`);
  }
  assert.ok(marginShift(a.result).some((s) => s.id > 0), "factor 5 moves the margin");
  await assert.rejects(adversarialForModel(BUNDLE, { ...opts, n: 0 }), /positive integer/);
});

test("spearmanPermutationP: exact for small n, NaN when undefined", () => {
  // n = 3, perfectly monotone: |ρ| = 1 for 2 of the 6 orderings
  assert.equal(spearmanPermutationP([1, 2, 3], [10, 20, 30]), 2 / 6);
  // n = 5, monotone: 2 of 120 orderings reach |ρ| = 1
  assert.equal(spearmanPermutationP([1, 2, 3, 4, 5], [5, 6, 7, 8, 9]), 2 / 120);
  assert.ok(Number.isNaN(spearmanPermutationP([1, 2], [1, 2])));
  assert.ok(Number.isNaN(spearmanPermutationP([1, 2, 3], [4, 4, 4])));
  const x = Array.from({ length: 12 }, (_, i) => i), y = x.map((v) => (v * 7) % 12);
  const p = spearmanPermutationP(x, y, 2000, 1);
  assert.ok(p > 0 && p <= 1);
  assert.equal(spearmanPermutationP(x, y, 2000, 1), p, "seeded");
  assert.ok(spearmanPermutationP(x, x, 2000, 1) < 0.002);
});
