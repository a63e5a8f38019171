// Gemma-3 (SigLIP + pooled projector, scaled embeddings, QK-norm, sliding-window and global layers, image tokens
// attending to each other bidirectionally): tiny seeded model vs PyTorch, plus the prefix-reuse rule for images.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, replace } from "linmech";
import { familyParity } from "./common";

familyParity("gemma-3", (ctx) => {
  test("gemma-3: an edit inside an image changes the image's earlier tokens, not the text before it; prefix reuse == full recomputation", async () => {
    const { model, ref, dir } = ctx();
    const x = await model.prepare({ image: `${dir}/${ref.inputs[0].image}`, prompt: ref.inputs[0].question });
    const img = x.imageTokens();
    assert.equal(img.length, model.meta.tokens_per_image);
    const q = img[img.length - 2];
    const v = new Float32Array(model.width).fill(0.5);
    const edit = [replace("blocks.0.hook_resid_post", q, v)];
    const before = [0, img[0] - 1, img[0], q - 1];
    const clean = await model.trace(x, { site: "blocks.2.hook_resid_post", positions: before });
    const reused = await model.trace(x, { site: "blocks.2.hook_resid_post", positions: before }, { edits: edit });
    const full = await model.trace(x, { site: "blocks.2.hook_resid_post", positions: before }, { edits: edit, prefixReuse: false });
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, y, i) => Math.max(m, Math.abs(y - b[i])), 0);
    const c = clean.get("blocks.2.hook_resid_post"), r = reused.get("blocks.2.hook_resid_post");
    for (const p of [0, img[0] - 1]) assert.equal(diff(c.get(p), r.get(p)), 0, `text position ${p} before the image must not change`);
    for (const p of [img[0], q - 1]) assert.ok(diff(c.get(p), r.get(p)) > 1e-3, `image position ${p} before the edit must change`);
    assert.ok(diff(r.data, full.get("blocks.2.hook_resid_post").data) <= 1e-5);
    // log-probs and generation with the split inside the image equal full recomputation
    const a = await model.patch(x, edit, { generate: 3 }), b = await model.patch(x, edit, { generate: 3, prefixReuse: false });
    assert.ok(diff(a.lastLogprobs, b.lastLogprobs) <= 1e-5);
    assert.deepEqual(a.generated!.ids, b.generated!.ids);
  });

  test("gemma-3: greedy generation stops at generation_config.json's eos ids too (gemma-3-it: [<eos>, <end_of_turn>])", async () => {
    const { ref, dir } = ctx();
    const tmp = mkdtempSync(join(tmpdir(), "linmech-gemma-eos-"));
    try {
      cpSync(join(dir, "bundle"), tmp, { recursive: true });
      const first = ref.inputs[0].generate[0];
      writeFileSync(join(tmp, "generation_config.json"), JSON.stringify({ eos_token_id: [1, first] }));
      const m = await loadModel(tmp, { threads: 1 });
      try {
        const x = await m.prepare({ image: join(dir, ref.inputs[0].image), prompt: ref.inputs[0].question });
        const out = await m.patch(x, [], { generate: 3 });
        assert.deepEqual(out.generated!.ids, []);
        assert.equal(out.generated!.stoppedAtEos, true);
      } finally {
        await m.dispose();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("gemma-3: the prompt carries the processor's full image sequence; a wrong number of images is one clear error", async () => {
    const { model, ref, dir } = ctx();
    const x = await model.prepare({ image: `${dir}/${ref.inputs[0].image}`, prompt: "Where is it?" });
    assert.match(x.text, /\n\n<start_of_image>(<image_soft_token>){16}<end_of_image>\n\n/);
    await assert.rejects(model.prepare({ prompt: "<start_of_image> two? <start_of_image>", image: `${dir}/${ref.inputs[0].image}`, chat: false }),
      /2 "<start_of_image>" placeholder\(s\) but 1 image/);
  });
});
