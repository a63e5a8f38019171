// Fig 4 mirror / attribute swap on the tiny random LLaVA fixture: the invariants that hold for any model.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import {
  loadModel, Model, mirrorSwap, PAPER_OBJECTS, replace, summariseMirrorSwap, swapSamples, SwapSample, tokenSetPositions,
} from "linmech";
import { BUNDLE, ensureFixture } from "../engine/fixture";

let model: Model;
let samples: SwapSample[];

before(async () => {
  ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  samples = await swapSamples(3, "mirror", { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 5 });
});

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("mirror samples: the counterfactual is the pixel mirror and the answer flips", () => {
  for (const s of samples) {
    const { width: W, height: H } = s.image;
    for (let y = 0; y < H; y += 7)
      for (let x = 0; x < W; x += 5)
        for (let c = 0; c < 3; c++) assert.equal(s.counterfactual.data[(y * W + (W - 1 - x)) * 3 + c], s.image.data[(y * W + x) * 3 + c]);
    assert.equal(s.counterfactualAnswer, s.answer === "left" ? "right" : "left");
  }
});

test("replacing every position with the mirrored run's values reproduces the mirrored run at every site", async () => {
  const s = samples[0];
  const x = await model.prepare({ image: s.image, prompt: s.question });
  const y = await model.prepare({ image: s.counterfactual, prompt: s.question });
  const all = [...x.ids.keys()];
  const ry = await model.trace(y, model.sites, { logprobs: ["left", "right"], prefixReuse: false });
  const out = await model.patchMany(x, model.sites.map((site) => [replace(site, all, ry.get(site))]), { logprobs: ["left", "right"] });
  out.forEach((r, k) => {
    close(r.logprobs.left, ry.logprobs.left, 1e-4, `left at ${model.sites[k]}`);
    close(r.logprobs.right, ry.logprobs.right, 1e-4, `right at ${model.sites[k]}`);
  });
});

test("belief shift: 1 for image tokens at the embeddings and for text tokens at the last block; 0 where nothing downstream reads", async () => {
  const r = await mirrorSwap(model, samples, "mirror");
  const last = model.numLayers - 1;
  // passes: 2 clean runs + |sites| × 3 patched runs per question
  assert.equal(r.runs, samples.length * (2 + 3 * (model.numLayers + 1)));
  assert.deepEqual(r.layers, [-1, ...Array.from({ length: model.numLayers }, (_, i) => i)]);
  const s = summariseMirrorSwap(r);
  const curve = (t: string) => s.curves.find((c) => c.tokenSet === t)!;
  const kEmbed = r.layers.indexOf(-1), kLast = r.layers.indexOf(last);
  for (const w of ["left", "right"]) {
    // at hook_embed the text embeddings of x and y are identical: replacing the image tokens IS the mirrored run
    close(curve("image").perWord[w][kEmbed].mean, 1, 1e-3, `image@embed ${w}`);
    close(curve("text").perWord[w][kEmbed].mean, 0, 1e-6, `text@embed ${w}`);
    close(curve("objectWords").perWord[w][kEmbed].mean, 0, 1e-6, `objectWords@embed ${w}`);
    // after the last block only the last position feeds the logits: the text set (which holds it) carries everything
    close(curve("text").perWord[w][kLast].mean, 1, 1e-3, `text@last ${w}`);
    close(curve("image").perWord[w][kLast].mean, 0, 1e-6, `image@last ${w}`);
    assert.equal(curve("image").perWord[w][kEmbed].undefinedCount, 0);
  }
  close(curve("image").gt[kEmbed].mean, 1, 1e-3, "GT form image@embed");
  // the object-word set is the subject's and the reference's word
  const x = await model.prepare({ image: samples[0].image, prompt: samples[0].question });
  const pos = tokenSetPositions(x, samples[0].subject, samples[0].reference);
  assert.deepEqual(pos.objectWords.map((p) => x.tokens[p]).sort(), [samples[0].subject, samples[0].reference].sort());
  assert.ok(pos.text.every((p) => p > Math.max(...pos.image)));
  assert.equal(pos.text[pos.text.length - 1], x.lastToken());
});

test("belief shift: a counterfactual identical to the original gives undefined shifts, reported (not silently 0)", async () => {
  const same = samples.slice(0, 2).map((s) => ({ ...s, counterfactual: s.image, counterfactualAnswer: s.answer }));
  const r = await mirrorSwap(model, same, "attribute", { layers: [0], tokenSets: ["image"] });
  const s = summariseMirrorSwap(r);
  const c = s.curves[0];
  assert.equal(c.perWord.left[0].undefinedCount, 2);
  assert.ok(Number.isNaN(c.perWord.left[0].mean));
  assert.equal(c.perWord.left[0].n, 0);
  const z = summariseMirrorSwap(r, "zero");
  assert.equal(z.curves[0].perWord.left[0].mean, 0);
  assert.equal(z.curves[0].perWord.left[0].undefinedCount, 2);
});

test("attribute control: rainbow recolouring keeps the answer and the geometry", async () => {
  const a = await swapSamples(2, "attribute", { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 5 });
  assert.equal(a[0].counterfactualAnswer, a[0].answer);
  assert.notDeepEqual(a[0].counterfactual.data, a[0].image.data);
  // seeded: same seed, same pixels
  const b = await swapSamples(1, "attribute", { size: model.meta.image_size, objects: PAPER_OBJECTS, seed: 5 });
  assert.deepEqual(b[0].counterfactual.data, a[0].counterfactual.data);
});

test("mirror swap: bad input gets one clear error", async () => {
  await assert.rejects(mirrorSwap(model, samples, "mirror", { layers: [model.numLayers] }), /layer \d+ is outside/);
  await assert.rejects(mirrorSwap(model, samples, "mirror", { tokenSets: ["pixels" as never] }), /unknown token set "pixels"/);
  await assert.rejects(mirrorSwap(model, [], "mirror"), /no samples/);
  await assert.rejects(swapSamples(0, "mirror", { size: 32 }), /positive integer/);
});
