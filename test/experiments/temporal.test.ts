// Fig 10 a/b/c on the bundled toy video model (data/models/toy-llava-video, 8 blocks × 128, 8 frames × 4 tokens):
// the invariants that must hold for any model, and the pure parts (the overwrite fix, the PCA ordering test) on
// constructed data.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  aggregateTemporalIds, loadModel, Model, projectTemporalIds, replace, resid, summariseMirrorSwap, temporalIds, temporalIdSet,
  temporalMirrorSwap, temporalSteering, temporalSteeringSamples, temporalSteeringVectors, temporalSwapSamples, tokenSetPositions,
  type TemporalIdResult, type TemporalSteeringSample, type TemporalSwapSample,
} from "linmech";

let model: Model;
let swaps: TemporalSwapSample[];
let steer: TemporalSteeringSample[];
let ids: TemporalIdResult;

before(async () => {
  model = await loadModel("toy-llava-video", { threads: 1 });
  swaps = await temporalSwapSamples(2, { size: model.meta.image_size, seed: 5 });
  steer = await temporalSteeringSamples(3, { size: model.meta.image_size, seed: 5 });
  ids = await temporalIds(model, { pairs: [["camel", "frog"]], frames: [1, 4, 7], seed: 5 });
});

after(async () => {
  await model?.dispose();
});

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("reversed-clip counterfactual: the same frames in reverse order, and the opposite answer", () => {
  for (const s of swaps) {
    assert.equal(s.frames.length, 8);
    s.frames.forEach((f, k) => assert.equal(s.counterfactual[7 - k], f));
    assert.ok(["before", "after"].includes(s.answer));
    assert.equal(s.counterfactualAnswer, s.answer === "before" ? "after" : "before");
    assert.equal(s.question, `Does the ${s.subject} come before or after the ${s.reference}?`);
  }
  // seeded
  const again = temporalSwapSamples(1, { size: model.meta.image_size, seed: 5 });
  return again.then(([a]) => assert.deepEqual(a.frames[3].data, swaps[0].frames[3].data));
});

test("overwrite bug fixed: an (object, frame) seen with two partners is their mean, the authors' overwrite keeps only the last", () => {
  const v = (...x: number[]) => Float64Array.from(x);
  const obs = [
    { object: "camel", frame: 1, vector: v(1, 0) },
    { object: "camel", frame: 1, vector: v(3, 2) }, // second partner clip: the authors overwrite the first
    { object: "camel", frame: 2, vector: v(0, 4) },
    { object: "frog", frame: 1, vector: v(5, 0) },
    { object: "frog", frame: 2, vector: v(1, 1) },
  ];
  const mean = aggregateTemporalIds(obs, [1, 2]);
  assert.deepEqual(Array.from(mean.perObject.camel[0]!), [2, 1]);
  assert.deepEqual(mean.counts.camel, [2, 1]);
  // T(f) = mean over objects
  assert.deepEqual(Array.from(mean.ids[0]), [3.5, 0.5]);
  assert.deepEqual(Array.from(mean.ids[1]), [0.5, 2.5]);
  const authors = aggregateTemporalIds(obs, [1, 2], { aggregate: "authors-overwrite" });
  assert.deepEqual(Array.from(authors.perObject.camel[0]!), [3, 2]);
  assert.deepEqual(Array.from(authors.ids[0]), [4, 1]);
  // per-object centring with every frame observed = the raw IDs minus one constant vector
  const shift0 = mean.ids[0].map((x, j) => x - mean.centred[0][j]), shift1 = mean.ids[1].map((x, j) => x - mean.centred[1][j]);
  shift0.forEach((x, j) => close(x, shift1[j], 1e-12, `centring shift ${j}`));
  // with a frame missing for one object, centring is not a constant shift
  const gap = aggregateTemporalIds([...obs, { object: "dog", frame: 1, vector: v(9, 9) }], [1, 2]);
  assert.deepEqual(Array.from(gap.centred[0]), [(1 + 2 + 0) / 3, (-1.5 - 0.5 + 0) / 3]);
  assert.throws(() => aggregateTemporalIds(obs, [1, 3]), /frame 2, which is not among the frames 1, 3/);
  assert.throws(() => aggregateTemporalIds([], [1, 2]), /no observations/);
});

test("temporal IDs on the toy: two reads per clip, averaged over partner frames; hook_embed is degenerate", () => {
  // 1 pair × 3 frames × 2 partner frames = 6 clips, + 1 text-only marker run
  assert.equal(ids.clips, 6);
  assert.equal(ids.runs, 7);
  assert.deepEqual(ids.counts, { camel: [2, 2, 2], frog: [2, 2, 2] });
  const k = ids.layers.indexOf(3);
  // T(f) is the mean of the two objects' averaged vectors
  for (let f = 0; f < 3; f++)
    for (let j = 0; j < model.width; j += 17) close(ids.ids[k][f][j], (ids.perObject[k].camel[f]![j] + ids.perObject[k].frog[f]![j]) / 2, 1e-9, `T(${ids.frames[f]})[${j}]`);
  // with two partner clips per (object, frame) the authors' overwrite differs from the mean
  assert.ok(ids.overwriteIds[k][0].some((x, j) => Math.abs(x - ids.ids[k][0][j]) > 1e-6));
  const pr = projectTemporalIds(ids);
  assert.equal(pr[ids.layers.indexOf(-1)].degenerate, true, "a word's input embedding cannot depend on the clip");
  assert.equal(pr[k].degenerate, false);
  // the markers are the words of the text-only question, read where the tokenizer puts them
  assert.equal(ids.markerPrompt, "Does the camel come before or after the frog?");
  assert.deepEqual(Object.keys(ids.markers).sort(), ["after", "before"]);
  // centred IDs give the same PCA when every object is seen at every frame
  const pc = projectTemporalIds(ids, { ids: "centred" });
  close(pc[k].explained, pr[k].explained, 1e-6, "explained (centred vs raw)");
  pc[k].pc1.forEach((x, f) => close(x, pr[k].pc1[f], 1e-6, `pc1 frame ${ids.frames[f]}`));
});

test("PCA ordering check: frames on a line give Spearman 1 and the exact permutation p 2/7!", () => {
  const d = 6;
  const u = Float64Array.from({ length: d }, (_, j) => (j === 2 ? 1 : 0.1));
  const frames = [1, 2, 3, 4, 5, 6, 7];
  const line = frames.map((f) => u.map((x, j) => x * f * f + (j === 4 ? (f % 2) * 1e-3 : 0)));
  const fake: TemporalIdResult = {
    ...ids, layers: [0], sites: [resid(0)], frames, ids: [line], centredIds: [line], overwriteIds: [line], perObject: [{}],
    markers: { before: [Float32Array.from(u.map((x) => x * 1.5))], after: [Float32Array.from(u.map((x) => x * 40))] },
  };
  const [p] = projectTemporalIds(fake);
  close(p.spearman, 1, 1e-12, "spearman");
  close(p.p, 2 / 5040, 1e-12, "exact p");
  assert.ok(p.explained > 0.99);
  assert.equal(p.normalised[0], 0);
  assert.equal(p.normalised[6], 1);
  assert.ok(p.markers.before.normalised < p.markers.after.normalised, "markers projected with the same (oriented) component");
  // reversed frame order: the sign is fixed so the first frame still projects lowest
  const [q] = projectTemporalIds({ ...fake, ids: [line.slice().reverse()] });
  assert.ok(q.pc1[0] < q.pc1[6]);
  close(q.spearman, 1, 1e-12, "spearman after orientation");
});

test("temporal swap: full-sequence patch at the last block gives belief shift 1; video tokens carry everything at the embeddings", async () => {
  const r = await temporalMirrorSwap(model, swaps);
  assert.equal(r.kind, "reverse");
  assert.deepEqual(r.answers, ["before", "after"]);
  assert.equal(r.runs, swaps.length * (2 + 3 * (model.numLayers + 1)));
  const s = summariseMirrorSwap(r);
  const curve = (t: string) => s.curves.find((c) => c.tokenSet === t)!;
  const kEmbed = r.layers.indexOf(-1), kLast = r.layers.indexOf(model.numLayers - 1);
  for (const w of ["before", "after"]) {
    close(curve("image").perWord[w][kEmbed].mean, 1, 1e-3, `video tokens @ embed ${w}`);
    close(curve("text").perWord[w][kLast].mean, 1, 1e-3, `text @ last ${w}`);
    close(curve("objectWords").perWord[w][kLast].mean, 0, 1e-4, `object words @ last ${w}`);
  }
  // the whole sequence replaced at the last block = the reversed run, so its belief shift is exactly 1
  const x = await model.prepare({ frames: swaps[0].frames, prompt: swaps[0].question });
  const y = await model.prepare({ frames: swaps[0].counterfactual, prompt: swaps[0].question });
  const last = resid(model.numLayers - 1);
  const all = [...x.ids.keys()];
  const ry = await model.trace(y, [last], { logprobs: ["before", "after"], prefixReuse: false });
  const rx = await model.patch(x, [], { logprobs: ["before", "after"], prefixReuse: false });
  const rp = await model.patch(x, [replace(last, all, ry.get(last))], { logprobs: ["before", "after"], prefixReuse: false });
  for (const w of ["before", "after"]) close((rx.logprobs[w] - rp.logprobs[w]) / (rx.logprobs[w] - ry.logprobs[w]), 1, 1e-4, `full patch ${w}`);
  // token sets by tokenizing: 32 frame tokens, the object words are the asked objects
  const pos = tokenSetPositions(x, swaps[0].subject, swaps[0].reference);
  assert.equal(pos.image.length, 8 * model.meta.tokens_per_frame!);
  assert.ok(pos.image.every((p) => x.ids[p] === model.meta.video_token_id));
  assert.deepEqual(pos.objectWords.map((p) => x.tokens[p]).sort(), [swaps[0].subject, swaps[0].reference].sort());
  assert.equal(pos.text[pos.text.length - 1], x.lastToken());
});

test("steering positions are found by tokenizing: a 4-frame clip moves the subject 16 tokens earlier", async () => {
  const s = steer[0];
  const x8 = await model.prepare({ frames: s.frames, prompt: s.question });
  const x4 = await model.prepare({ frames: s.frames.slice(0, 4), prompt: s.question });
  const p8 = x8.spanOf(s.subject), p4 = x4.spanOf(s.subject);
  assert.deepEqual(p8.map((p) => x8.tokens[p]), [s.subject]);
  assert.deepEqual(p4.map((p) => p + 4 * model.meta.tokens_per_frame!), p8);
  assert.throws(() => x8.spanOf("zebra"), /not found in the prompt tokens/);
  // the steering questions: true answers alternate (balanced panels), no unordered object pair twice
  assert.deepEqual(steer.map((q) => q.answer), ["before", "after", "before"]);
  assert.equal(new Set(steer.map((q) => [q.subject, q.reference].sort().join("|"))).size, steer.length);
});

test("steering: zero vector (m = 0, and the middle frame whose mirror is itself) changes nothing; Δ = lp_patched − lp_clean", async () => {
  const set = temporalIdSet(ids);
  const zero = await temporalSteering(model, steer, set, { layers: [1, 3], m: 0 });
  for (const q of zero.questions) for (const byFrame of q.change) for (const d of byFrame) for (const w of ["before", "after"]) close(d[w], 0, 1e-4, `m = 0 ${w}`);
  const r = await temporalSteering(model, steer, set, { layers: [3], m: 5, noise: true });
  assert.deepEqual(r.mirrors, [7, 4, 1]);
  assert.equal(r.runs, steer.length * (1 + 3 + 1));
  const { vectors } = temporalSteeringVectors(set, [3], [1, 4, 7], 5);
  assert.ok(vectors[0][1].every((x) => x === 0), "frame 4 is its own mirror");
  vectors[0][0].forEach((x, j) => close(x, -vectors[0][2][j], 1e-12, "v(1) = −v(7)"));
  for (const q of r.questions) for (const w of ["before", "after"]) close(q.change[0][1][w], 0, 1e-4, `middle frame ${w}`);
  // the sign convention, against a hand-made run: add m·(T(1) − T(7)) at the subject's word
  const s = steer[0];
  const x = await model.prepare({ frames: s.frames, prompt: s.question });
  const clean = await model.patch(x, [], { logprobs: ["before", "after"], prefixReuse: false });
  const { add } = await import("linmech");
  const hand = await model.patch(x, [add(resid(3), x.spanOf(s.subject), vectors[0][0])], { logprobs: ["before", "after"], prefixReuse: false });
  for (const w of ["before", "after"]) close(r.questions[0].change[0][0][w], hand.logprobs[w] - clean.logprobs[w], 1e-4, `Δ${w}`);
  assert.ok(r.questions.every((q) => q.noise && Number.isFinite(q.noise[0].before)));
});

test("temporal experiments: bad input gets one clear error", async () => {
  await assert.rejects(temporalMirrorSwap(model, swaps, { layers: [model.numLayers] }), /layer \d+ is outside/);
  await assert.rejects(temporalMirrorSwap(model, []), /no samples/);
  await assert.rejects(temporalSteering(model, steer, temporalIdSet(ids), { frames: [2] }), /no temporal ID for frame 2/);
  await assert.rejects(temporalSteering(model, steer, { frames: [1, 7], vectors: {} }, { layers: [0] }), /no temporal IDs at blocks\.0\.hook_resid_post/);
  await assert.rejects(temporalIds(model, { frames: [0, 3] }), /frame 0 is outside 1\.\.7/);
  await assert.rejects(temporalIds(model, { pairs: [["camel", "camel"]] }), /same object twice/);
  await assert.rejects(temporalSwapSamples(0, { size: 64 }), /positive integer/);
});
