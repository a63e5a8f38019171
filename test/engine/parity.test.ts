// Parity with PyTorch (HF forward hooks) on the tiny-LLaVA fixture: prepare(), every site, patched log-probs,
// greedy generation with a steering edit.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { add, Edit, loadModel, Model, replace, SiteName } from "linmech";
import { BUNDLE, ensureFixture, FIXTURE, loadArray, maxAbsDiff, Reference, RefPatch } from "./fixture";

const TOL = 1e-4;
let ref: Reference;
let model: Model;

before(async () => {
  ref = ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
});

const prepare = (k: number) => model.prepare({ image: join(FIXTURE, ref.inputs[k].image), prompt: ref.inputs[k].question });

function edits(p: RefPatch): Edit[] {
  return p.edits.map((e) => {
    if (e.op === "replace") {
      const v = loadArray(e.values!);
      const d = v.length / e.positions.length;
      return replace(e.site as SiteName, e.positions, e.positions.map((_, k) => v.subarray(k * d, (k + 1) * d)));
    }
    return add(e.site as SiteName, e.positions, loadArray(ref.vectors[e.vector!]));
  });
}

test("prepare: ids, tokens, pixel values and word positions equal the Python processor's", async () => {
  for (let k = 0; k < ref.inputs.length; k++) {
    const r = ref.inputs[k];
    const x = await prepare(k);
    assert.deepEqual(x.ids, r.input_ids);
    assert.deepEqual(x.tokens, r.tokens);
    assert.deepEqual(x.imageTokens(), r.image_token_positions);
    assert.ok(maxAbsDiff(x.pixelValues[0].data, loadArray(r.pixel_values)) <= 1e-6, "pixel values");
    for (const [w, p] of Object.entries(r.positions)) assert.equal(x.positionOf(w), p, w);
    assert.equal(x.lastToken(), r.input_ids.length - 1);
  }
});

test("trace: hidden states at every site and last log-probs match PyTorch for every input (≤ 1e-4)", async () => {
  for (let k = 0; k < ref.inputs.length; k++) {
    const r = ref.inputs[k];
    const out = await model.trace(await prepare(k), model.sites);
    for (const s of model.sites) {
      const d = maxAbsDiff(out.get(s).data, loadArray(r.hidden[s]));
      assert.ok(d <= TOL, `input ${k} ${s}: max abs diff ${d}`);
    }
    assert.ok(maxAbsDiff(out.lastLogprobs, loadArray(r.last_logprobs)) <= TOL);
    assert.equal(out.argmax, r.last_argmax);
  }
});

test("patch: log-probs after replace, add, both, and add at the last position match PyTorch (≤ 1e-4)", async () => {
  const x = await prepare(0);
  for (const p of ref.patches) {
    const e = edits(p);
    const out = await model.patch(x, e, { trace: model.sites });
    const d = maxAbsDiff(out.lastLogprobs, loadArray(p.last_logprobs));
    assert.ok(d <= TOL, `${p.name}: log-prob diff ${d}`);
    // hidden states: equal everywhere; at an edited cell our read is the post-edit value, PyTorch's record may be
    // either the pre-edit one (plus the vector) or the post-edit one
    for (const s of model.sites) {
      const ours = out.get(s).data, theirs = loadArray(p.hidden[s]);
      const w = model.width;
      for (let q = 0; q < x.length; q++) {
        const a = ours.subarray(q * w, (q + 1) * w), b = theirs.subarray(q * w, (q + 1) * w);
        const cell = e.filter((ed) => ed.site === s && ed.positions.includes(q));
        if (cell.length === 0) assert.ok(maxAbsDiff(a, b) <= TOL, `${p.name} ${s} position ${q}`);
        else if (cell[0].op === "replace") assert.ok(maxAbsDiff(a, cell[0].values[cell[0].positions.indexOf(q)]) <= TOL);
        else {
          const v = cell[0].vector;
          const plus = Array.from(b, (x0, j) => x0 + v[j]);
          assert.ok(Math.min(maxAbsDiff(a, b), maxAbsDiff(a, plus)) <= TOL, `${p.name} ${s} edited position ${q}`);
        }
      }
    }
  }
});

test("generate: greedy tokens clean and with steering edits on the prompt match PyTorch", async () => {
  const x = await prepare(0);
  const g = ref.generation;
  const n = g.new_tokens as number;
  assert.deepEqual((await model.patch(x, [], { generate: n })).generated!.ids, g.clean);
  for (const [name, key] of [["b_add", "b_add_prefill_only"], ["c_both", "c_both_prefill_only"], ["d_add_last", "d_add_last_prefill_only"]]) {
    const p = ref.patches.find((q) => q.name === name)!;
    const out = await model.patch(x, edits(p), { generate: n });
    assert.deepEqual(out.generated!.ids, g[key], name);
  }
  assert.notDeepEqual(g.d_add_last_prefill_only, g.clean, "the steering edit must change the answer");
  for (let k = 1; k < ref.inputs.length; k++)
    assert.deepEqual((await model.patch(await prepare(k), [], { generate: 3 })).generated!.ids, ref.inputs[k].generate_greedy);
});

test("logprobs: answer words are scored by their first sub-token", async () => {
  const x = await prepare(0);
  const out = await model.patch(x, [], { logprobs: ["left", "right"] });
  assert.equal(out.logprobs.left, out.lastLogprobs[model.text.tokenToId("left")!]);
  assert.equal(out.logprobs.right, out.lastLogprobs[model.text.tokenToId("right")!]);
});
