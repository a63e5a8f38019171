// LLaVA-Video (LlavaOnevisionForConditionalGeneration, bundle family "llava-onevision": SigLIP, 2x2 bilinear pooling,
// one image_newline after the last frame, Qwen2 decoder, ChatML template): a tiny seeded model on 4-frame clips vs
// PyTorch, plus the clip layout and the errors for images / too many frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import { familyParity } from "./common";

familyParity("llava-video", (ctx) => {
  test("llava-video: the clip expands to frames x tokens_per_frame + 1 (image_newline after the last frame)", async () => {
    const { model, ref, dir } = ctx();
    const frames = ref.inputs[0].frames!.map((f) => `${dir}/${f}`);
    const x = await model.prepare({ frames, prompt: "Which comes first?" });
    const perFrame = model.meta.tokens_per_frame!;
    assert.deepEqual(x.spans.map((s) => s.length), [perFrame, perFrame, perFrame, perFrame + 1]);
    assert.deepEqual(x.spans.map((s) => s.item), [0, 1, 2, 3]);
    assert.equal(x.imageTokens().length, frames.length * perFrame + 1);
    assert.match(x.text, /^<\|im_start\|>user\n<video>\nWhich comes first\?<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    // fewer frames: still one newline at the end of the clip
    const y = await model.prepare({ frames: frames.slice(0, 2), prompt: "Which comes first?" });
    assert.equal(y.imageTokens().length, 2 * perFrame + 1);
    const out = await model.patch(y, [], { generate: 2 });
    assert.equal(out.generated!.ids.length <= 2, true);
  });

  test("llava-video: an image or too many frames is one clear error", async () => {
    const { model, ref, dir } = ctx();
    const frame = `${dir}/${ref.inputs[0].frames![0]}`;
    await assert.rejects(model.prepare({ image: frame, prompt: "Where?" }), /takes video frames, not images: pass frames/);
    const many = Array.from({ length: (model.meta.max_frames ?? 64) + 1 }, () => frame);
    await assert.rejects(model.prepare({ frames: many, prompt: "Where?" }), /too many frames/);
  });
});
