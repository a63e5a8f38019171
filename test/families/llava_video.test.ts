// LLaVA-Video (LlavaOnevisionForConditionalGeneration, bundle family "llava-onevision": SigLIP, 2x2 bilinear pooling,
// one image_newline after the last frame, Qwen2 decoder, ChatML template): a tiny seeded model on 4-frame clips vs
// PyTorch, plus the clip layout and the errors for images / too many frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "linmech";
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

  test("llava-video: frames of other sizes are resized and normalised as LlavaOnevisionVideoProcessor does (≤ 1e-5)", async (t) => {
    // torchvision's bicubic antialias resize of a uint8 tensor (torch's uint8 kernel on CPU) + fused normalise,
    // computed by tools/export's VideoProcessorLite; down- and up-scaling, odd sizes
    const { model, dir } = ctx();
    const tmp = mkdtempSync(join(tmpdir(), "linmech-llava-video-resize-"));
    try {
      const sizes: [number, number][] = [[53, 37], [11, 7], [20, 61]];
      const raws = sizes.map(([w, h], k) => ({ data: new Uint8Array(w * h * 3).map((_, i) => (i * 131 + k * 71 + ((i * i) % 97)) % 256), width: w, height: h }));
      raws.forEach((r, k) => writeFileSync(join(tmp, `${k}.rgb`), r.data));
      const py = [
        "import sys, numpy as np",
        "from tools.export.families.llava_onevision import VideoProcessorLite",
        "p = VideoProcessorLite.from_pretrained(sys.argv[1])",
        "for k, (w, h) in enumerate(zip(sys.argv[3::2], sys.argv[4::2])):",
        "    v = np.fromfile(f'{sys.argv[2]}/{k}.rgb', np.uint8).reshape(1, int(h), int(w), 3)",
        "    p.pixel_values(v).numpy().astype('<f4').tofile(f'{sys.argv[2]}/{k}.f32')",
      ].join("\n");
      const r = spawnSync(join(repoRoot(), ".venv-tools", "bin", "python"), ["-c", py, join(dir, "hf"), tmp, ...sizes.flatMap(([w, h]) => [`${w}`, `${h}`])],
        { cwd: repoRoot(), encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      for (let k = 0; k < raws.length; k++) {
        const x = await model.prepare({ frames: [raws[k]], prompt: "Where?" });
        const b = readFileSync(join(tmp, `${k}.f32`));
        const want = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        const got = x.pixelValues[0].data;
        assert.equal(got.length, want.length);
        assert.equal(x.pixelValues[0].width, model.meta.image_size);
        let d = 0;
        for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
        assert.ok(d <= 1e-5, `frame ${sizes[k].join("x")}: pixel values max abs diff ${d}`);
        t.diagnostic(`frame ${sizes[k].join("x")} -> ${model.meta.image_size} px: pixel values max abs diff ${d.toExponential(2)}`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
