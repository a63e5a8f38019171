// Llama-3.2-Vision (Mllama: tiled vision encoder, cross-attention layers 1 and 3 of 4, no KV cache for them): tiny
// seeded model vs PyTorch (common parity suite), plus MllamaImageProcessor parity for several image sizes, what the
// image can and cannot reach, and batched rows / prefix reuse with the per-image cross-attention keys/values fed on
// every call (broadcast over the rows when they share the image, stacked otherwise).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { add, loadModel, repoRoot, replace } from "linmech";
import { familyParity } from "./common";

const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

// MllamaImageProcessor (PIL backend) on PNG files → pixel_values / aspect_ratio_ids / aspect_ratio_mask per image
const PY_PROCESSOR = `
import json, sys
import numpy as np
from PIL import Image
from transformers import AutoProcessor
full = AutoProcessor.from_pretrained(sys.argv[1])
proc = full.image_processor
raw = full(images=[[Image.open(sys.argv[3]).convert("RGB")]], text=["<|image|>Is the camel left?"])["input_ids"][0]
out = []
for k, path in enumerate(sys.argv[3:]):
    enc = proc(images=[[Image.open(path).convert("RGB")]], return_tensors="np")
    np.ascontiguousarray(enc["pixel_values"][0, 0], dtype="<f4").tofile(f"{sys.argv[2]}/pv{k}.f32")
    out.append({"ids": int(enc["aspect_ratio_ids"][0, 0]), "mask": enc["aspect_ratio_mask"][0, 0].tolist(),
                "shape": list(enc["pixel_values"].shape), "processor": type(proc).__name__})
print(json.dumps({"images": out, "raw_ids": list(raw)}))
`;

familyParity("mllama", (ctx) => {
  test("mllama: preprocessing equals MllamaImageProcessor (canvas, PIL resize, pad, tiles, aspect ratio ids/mask) for 6 image sizes", async (t) => {
    const { model, dir } = ctx();
    const tmp = mkdtempSync(join(tmpdir(), "linmech-mllama-pre-"));
    try {
      // W x H: fits 1x2 tiles as is (padded tiles); 2x1 padded inside the canvas; downscaled to 2x2; upscaled small;
      // wide 4x1 downscaled; odd size downscaled with both passes
      const sizes: [number, number][] = [[32, 16], [16, 40], [70, 61], [7, 9], [150, 20], [45, 23]];
      const files: string[] = [];
      let seed = 12345;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed >>> 16) & 255;
      for (const [w, h] of sizes) {
        const px = new Uint8Array(w * h * 3);
        for (let i = 0; i < px.length; i++) px[i] = rnd();
        const f = join(tmp, `img${w}x${h}.png`);
        await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(f);
        files.push(f);
      }
      const py = join(repoRoot(), ".venv-tools", "bin", "python");
      const r = spawnSync(py, ["-c", PY_PROCESSOR, join(dir, "hf"), tmp, ...files], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
        images: { ids: number; mask: number[]; shape: number[]; processor: string }[];
        raw_ids: number[];
      };
      const want = got.images;
      // a raw prompt (chat: false): <|begin_of_text|> after the leading <|image|>, as MllamaProcessor does
      const raw = await model.prepare({ image: files[0], prompt: "<|image|>Is the camel left?", chat: false });
      assert.equal(raw.text, "<|image|><|begin_of_text|>Is the camel left?");
      assert.deepEqual(raw.ids, got.raw_ids);
      let worst = 0;
      for (let k = 0; k < files.length; k++) {
        const x = await model.prepare({ image: files[k], prompt: "Where is the frog?" });
        const b = readFileSync(join(tmp, `pv${k}.f32`));
        const theirs = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        assert.deepEqual(x.pixelValues[0].dims, [1, ...want[k].shape.slice(1)], `${sizes[k]} shape`);
        const d = diff(x.pixelValues[0].data, theirs);
        assert.ok(d <= 1e-5, `${sizes[k]}: pixel values max abs diff ${d}`);
        worst = Math.max(worst, d);
        const item = (x as unknown as { visual: { itemInputs: Record<string, { data: unknown }>[] } }).visual.itemInputs[0];
        assert.equal(Number((item.aspect_ratio_ids.data as BigInt64Array)[0]), want[k].ids, `${sizes[k]} aspect_ratio_ids`);
        assert.deepEqual(Array.from(item.aspect_ratio_mask.data as BigInt64Array, Number), want[k].mask, `${sizes[k]} aspect_ratio_mask`);
      }
      t.diagnostic(`${want[0].processor}: ${sizes.map(([w, h], k) => `${w}x${h} -> id ${want[k].ids}`).join(", ")}; pixel max abs diff ${worst}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("mllama: <|image|> is one ordinary token, 2-row positions (row 1 from the image token on), one image per prompt", async () => {
    const { model, ref, dir } = ctx();
    const x = await model.prepare({ image: join(dir, ref.inputs[0].image), prompt: ref.inputs[0].question });
    const img = x.ids.indexOf(model.meta.image_token_id);
    assert.deepEqual(x.imageTokens(), [img]);
    assert.equal(x.ids.filter((id) => id === model.meta.image_token_id).length, 1);
    const pos = (x as unknown as { positionIds: { rows: number; data: BigInt64Array } }).positionIds;
    assert.equal(pos.rows, 2);
    const T = x.length;
    for (let t = 0; t < T; t++) {
      assert.equal(pos.data[t], BigInt(t));
      assert.equal(pos.data[T + t], t >= img ? 1n : 0n);
    }
    await assert.rejects(model.prepare({ prompt: "two?", image: [join(dir, ref.inputs[0].image), join(dir, ref.inputs[1].image)] }),
      /exactly one image per prompt \(got 2\)/);
    await assert.rejects(model.prepare({ prompt: "none?" }), /exactly one image per prompt \(got 0\)/);
  });

  test("mllama: the image reaches the text only from the first cross-attention layer on; the last token depends on it", async (t) => {
    const { model, ref, dir } = ctx();
    const q = ref.inputs[0].question;
    const a = await model.prepare({ image: join(dir, ref.inputs[0].image), prompt: q });
    const b = await model.prepare({ image: join(dir, ref.inputs[1].image), prompt: q });
    assert.deepEqual(a.ids, b.ids);
    const img = a.imageTokens()[0], last = a.lastToken();
    const sites = ["hook_embed", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "blocks.3.hook_resid_post"] as const;
    const ra = await model.trace(a, [...sites]), rb = await model.trace(b, [...sites]);
    // layer 0 is self-attention: nothing before the first cross-attention layer sees the image
    assert.equal(diff(ra.get("hook_embed").data, rb.get("hook_embed").data), 0);
    assert.equal(diff(ra.get("blocks.0.hook_resid_post").data, rb.get("blocks.0.hook_resid_post").data), 0);
    for (const s of ["blocks.1.hook_resid_post", "blocks.3.hook_resid_post"] as const) {
      assert.ok(diff(ra.get(s).get(last), rb.get(s).get(last)) > 1e-2, `${s}: the last token must depend on the image`);
      assert.ok(diff(ra.get(s).get(img), rb.get(s).get(img)) > 1e-2, `${s}: the <|image|> token must depend on the image`);
    }
    // tokens before <|image|>: HF masks their cross-attention row out, which (in transformers' implementation, that
    // the parity tests above match at every position) zeroes the cross-attention block's MLP branch but leaves its
    // attention branch attending to every tile; so they change too, by less than the image token
    const pre = img - 1;
    const dPre = diff(ra.get("blocks.1.hook_resid_post").get(pre), rb.get("blocks.1.hook_resid_post").get(pre));
    t.diagnostic(`blocks.1 change with the image: token before <|image|> ${dPre.toExponential(2)}, last token ${diff(ra.get("blocks.1.hook_resid_post").get(last), rb.get("blocks.1.hook_resid_post").get(last)).toExponential(2)}`);
    assert.ok(diff(ra.lastLogprobs, rb.lastLogprobs) > 1e-3, "the answer must depend on the image");
  });

  test("mllama: the plain (not instrumented) decoder gives the same log-probs and greedy tokens", async () => {
    const { ref, dir } = ctx();
    // (not disposed here: dispose() releases every session of the bundle folder, the suite's model's too; the
    // suite's after() releases both)
    const plain = await loadModel(join(dir, "bundle"), { threads: 1, instrumented: false });
    for (let k = 0; k < ref.inputs.length; k++) {
      const x = await plain.prepare({ image: join(dir, ref.inputs[k].image), prompt: ref.inputs[k].question });
      const out = await plain.patch(x, [], { generate: ref.new_tokens });
      const b = readFileSync(join(dir, ref.inputs[k].last_logprobs.file));
      const want = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      assert.ok(diff(out.lastLogprobs, want) <= 1e-4, `input ${k}: log-probs`);
      assert.deepEqual(out.generated!.ids, ref.inputs[k].generate, `input ${k}: greedy tokens`);
    }
  });

  test("mllama: batched rows (one image broadcast, or one per row) and prefix reuse equal single full runs", async () => {
    const { model, ref, dir } = ctx();
    const x = await model.prepare({ image: join(dir, ref.inputs[0].image), prompt: ref.inputs[0].question });
    const p = x.positionOf("camel"), last = x.lastToken(), d = model.width;
    const v = new Float32Array(d).map((_, i) => Math.sin(i));
    const sets = [
      [],
      [replace("blocks.0.hook_resid_post", p, v)],
      [add("blocks.2.hook_resid_post", last, v)],
      [add("blocks.1.hook_resid_post", [p, last], v)],
    ];
    const calls0 = model.sessionCalls;
    const batched = await model.patchMany(x, sets, { generate: 3, batchSize: 8 });
    assert.ok(model.sessionCalls - calls0 <= 1 + 1 + 2, `one batched call (+ prefix + 2 decode steps), got ${model.sessionCalls - calls0}`);
    for (let k = 0; k < sets.length; k++) {
      const single = await model.patch(x, sets[k], { generate: 3, prefixReuse: false });
      assert.ok(diff(batched[k].lastLogprobs, single.lastLogprobs) <= 1e-5, `edit set ${k}: batched+prefix vs single full`);
      assert.deepEqual(batched[k].generated!.ids, single.generated!.ids, `edit set ${k}: generated tokens`);
    }
    // rows with different images in one call: the cross-attention keys/values are stacked per row instead of
    // broadcast
    const y = await model.prepare({ image: join(dir, ref.inputs[1].image), prompt: ref.inputs[0].question });
    const items = [{ input: x, edits: sets[1] }, { input: y, edits: sets[2] }, { input: y }];
    const calls1 = model.sessionCalls;
    const mixed = await model.patchBatch(items, { generate: 2, prefixReuse: false });
    assert.equal(model.sessionCalls - calls1, 2, "one prefill call + one decode step for the three rows");
    for (let k = 0; k < items.length; k++) {
      const single = await model.patch(items[k].input, items[k].edits ?? [], { generate: 2, prefixReuse: false });
      assert.ok(diff(mixed[k].lastLogprobs, single.lastLogprobs) <= 1e-5, `mixed row ${k}`);
      assert.deepEqual(mixed[k].generated!.ids, single.generated!.ids, `mixed row ${k}: generated tokens`);
    }
    assert.ok(diff(mixed[1].lastLogprobs, batched[2].lastLogprobs) > 1e-3, "the other image must change the answer");
  });
});
