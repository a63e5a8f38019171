// Soak: thousands of patched calls (single patches with traces, batched sweeps, generation) without memory growth:
// ONNX Runtime tensors are released and the caches stay bounded. Memory is sampled after a forced GC every
// block of calls once a warm-up has filled the caches; the trend over the measured blocks must be flat.
// Also: the progress callback of batched sweeps.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { add, Edit, loadModel, Model, PreparedInput, replace, resid } from "linmech";
import { BUNDLE, ensureFixture, FIXTURE, maxAbsDiff, Reference } from "./fixture";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let ref: Reference;
let model: Model;
let inputs: PreparedInput[];

before(async () => {
  ref = ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  inputs = await Promise.all(ref.inputs.map((r) => model.prepare({ image: join(FIXTURE, r.image), prompt: r.question })));
});

function vec(seed: number): Float32Array {
  const v = new Float32Array(model.width);
  for (let j = 0; j < v.length; j++) v[j] = Math.sin(seed * 0.37 + j * 1.3);
  return v;
}

/** one block of `n` patched runs (every call kind the engine has), returns how many patched rows ran */
async function block(n: number, seed: number): Promise<number> {
  let rows = 0;
  for (let k = 0; k < n; k++) {
    const x = inputs[k % inputs.length];
    const f = x.positionOf("frog"), c = x.positionOf("camel");
    const s = seed * n + k;
    if (k % 10 === 0) {
      // a batched sweep of 8 edit sets at 3 layers
      const sets: Edit[][] = Array.from({ length: 8 }, (_, j) => [add(resid(j % 3), f, vec(s + j))]);
      const out = await model.patchMany(x, sets, { logprobs: ["left", "right"], batchSize: 4 });
      assert.equal(out.length, 8);
      rows += 8;
    } else if (k % 10 === 1) {
      const out = await model.patch(x, [add(resid(2), x.lastToken(), vec(s))], { generate: 2 });
      assert.ok(out.generated);
      rows++;
    } else {
      const out = await model.patch(x, [replace(resid(k % 3), [f, c], [vec(s), vec(s + 1)])], {
        logprobs: ["left"],
        trace: [{ site: resid(2), positions: [c, x.lastToken()] }],
      });
      assert.ok(Number.isFinite(out.logprobs.left));
      rows++;
    }
  }
  return rows;
}

function memory(): { rss: number; external: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, external: (m.external + m.arrayBuffers) / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

/** least-squares slope of ys over 0..n-1 */
function slope(ys: number[]): number {
  const n = ys.length, mx = (n - 1) / 2, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  ys.forEach((y, i) => ((sxy += (i - mx) * (y - my)), (sxx += (i - mx) ** 2)));
  return sxy / sxx;
}

test("soak: thousands of patched calls without memory growth", async () => {
  const t0 = performance.now();
  let rows = await block(300, 0); // warm-up: caches (prefix KV per split point, vision features) fill here
  const samples = [memory()];
  const BLOCKS = 8, PER_BLOCK = 300;
  for (let b = 1; b <= BLOCKS; b++) {
    rows += await block(PER_BLOCK, b);
    samples.push(memory());
  }
  const seconds = (performance.now() - t0) / 1000;
  const rss = samples.map((s) => s.rss), ext = samples.map((s) => s.external), heap = samples.map((s) => s.heap);
  const report = `${rows} patched rows in ${seconds.toFixed(1)} s; MiB per block of ${PER_BLOCK} calls: rss ${rss.map((v) => v.toFixed(0)).join(" ")}; ` +
    `external ${ext.map((v) => v.toFixed(1)).join(" ")}; heap ${heap.map((v) => v.toFixed(1)).join(" ")}`;
  console.log(report);
  assert.ok(rows >= 4500, report); // 2,700 calls: 270 sweeps of 8 rows + 2,430 single patches
  // A leak of one logits row (V floats) or one trace per call would add ≥ 0.3 MiB per block in external memory,
  // and a leaked ORT output tensor far more in RSS.
  assert.ok(slope(ext) < 0.1, `external memory grows: ${report}`);
  assert.ok(slope(heap) < 0.25, `JS heap grows: ${report}`);
  assert.ok(slope(rss) < 1.0 && rss[rss.length - 1] - Math.min(...rss) < 16, `RSS grows: ${report}`);
  // and the model still computes what it did before the soak
  const x = inputs[0];
  const a = await model.patch(x, [add(resid(1), x.positionOf("frog"), vec(1))], { logprobs: ["left"] });
  model.clearCaches();
  const b = await model.patch(x, [add(resid(1), x.positionOf("frog"), vec(1))], { logprobs: ["left"], prefixReuse: false });
  assert.ok(maxAbsDiff(a.lastLogprobs, b.lastLogprobs) <= 1e-5);
});

test("progress callback: batched sweeps report (done, total) after every session chunk", async () => {
  const x = inputs[0], y = inputs[2];
  const sets: Edit[][] = Array.from({ length: 10 }, (_, j) => [add(resid(1), x.positionOf("frog"), vec(j))]);
  const seen: [number, number][] = [];
  await model.patchMany(x, sets, { batchSize: 4, onProgress: (done, total) => seen.push([done, total]) });
  assert.deepEqual(seen, [[4, 10], [8, 10], [10, 10]]);
  // inputs of different lengths go in separate chunks; the count still reaches the total once, monotonically
  const items = [x, y, x, y, x].map((input) => ({ input, edits: [add(resid(0), input.positionOf("camel"), vec(3))] }));
  const seen2: [number, number][] = [];
  await model.patchBatch(items, { batchSize: 2, onProgress: (done, total) => seen2.push([done, total]) });
  assert.deepEqual(seen2.map((s) => s[1]), seen2.map(() => 5));
  assert.deepEqual(seen2.map((s) => s[0]), [2, 3, 5]);
  // a throwing callback stops the sweep with its error
  await assert.rejects(model.patchMany(x, sets, { batchSize: 4, onProgress: () => { throw new Error("stop here"); } }), /stop here/);
});
