// Qwen2-VL (dynamic resolution, M-RoPE position ids, byte-level BPE, ChatML template): tiny seeded model vs PyTorch,
// plus smart_resize against values of transformers' implementation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { smartResize } from "linmech";
import { familyParity } from "./common";

familyParity("qwen2-vl", (ctx) => {
  test("qwen2-vl: another image size gets its own token count (dynamic resolution) and runs", async () => {
    const { model } = ctx();
    // 56x40 raw image, patch 4, merge 2: smart_resize keeps it (multiples of 8) -> 7x5 merged grid = 35 tokens
    const data = new Uint8Array(56 * 40 * 3).map((_, i) => (i * 37) % 251);
    const x = await model.prepare({ image: { data, width: 56, height: 40 }, prompt: "Is the camel in the image?" });
    assert.equal(x.imageTokens().length, 35);
    assert.equal(x.pixelValues[0].width, 56);
    const out = await model.patch(x, [], { generate: 2, logprobs: ["left"] });
    assert.ok(Number.isFinite(out.logprobs.left));
  });
});

test("smartResize equals transformers' smart_resize (Python round = half to even)", () => {
  // values from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl.smart_resize
  assert.deepEqual(smartResize(336, 336, 28, 56 * 56, 28 * 28 * 1280), [336, 336]);
  assert.deepEqual(smartResize(480, 640, 28, 56 * 56, 28 * 28 * 1280), [476, 644]);
  assert.deepEqual(smartResize(42, 70, 28, 56 * 56, 28 * 28 * 1280), [56, 56]);
  assert.deepEqual(smartResize(2000, 3000, 28, 56 * 56, 28 * 28 * 1280), [812, 1204]);
  assert.deepEqual(smartResize(20, 36, 8, 256, 4096), [16, 32]);
  assert.throws(() => smartResize(1, 300, 28, 56 * 56, 28 * 28 * 1280), /aspect ratio/);
});
