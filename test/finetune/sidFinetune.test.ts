// The Python/TypeScript glue of the spatial-ID fine-tuning (tools/finetune, notebooks/spatial-finetuning.ipynb):
// - the spatial-ID loss (tools/finetune/losses.py) on constructed inputs, and against the same formula computed here;
// - universal IDs written by the TypeScript API (saveUniversalIds) are read by the trainer with the right cell order;
// - the toy model rebuilt in PyTorch from a bundle's ONNX initializers matches ONNX Runtime (≤ 1e-4);
// - the shipped derived bundles (data/models/toy-llava-sidft-*) load, are small, take their decoder and token
//   embedding from the base unchanged, and have a vision encoder that differs from the base's.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { generateScene, loadModel, modelsDir, readBundle, repoRoot, saveUniversalIds } from "linmech";

const root = repoRoot();
const py = join(root, ".venv-tools", "bin", "python");
const tmp = mkdtempSync(join(tmpdir(), "linmech-sidft-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function python(code: string, args: string[] = []): string {
  assert.ok(existsSync(py), "needs .venv-tools: run `bash scripts/bootstrap.sh --tools`");
  const r = spawnSync(py, ["-c", code, ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `python failed:\n${r.stderr}`);
  return r.stdout.trim().split("\n").pop()!;
}

test("L_sid on constructed inputs: aligned 0, opposite 2, orthogonal 1, shared offset removed; matches the formula", () => {
  const out = JSON.parse(python(`
import json, torch
from tools.finetune.losses import sid_loss, ids_at
torch.manual_seed(0)
G = torch.randn(15, 8); g = G - G.mean(0)          # targets with zero batch mean
off = torch.randn(1, 8) * 50                        # what the batch shares (object semantics): centred away
g2 = g.clone(); g2[:, 4:] = 0                        # targets in dims 0-3 ...
o = torch.randn(15, 8); o[:, :4] = 0; o = o - o.mean(0)  # ... activations in dims 4-7: orthogonal after centring
r = {"aligned": sid_loss(3 * g + off, g).item(), "opposite": sid_loss(-g + off, g).item(),
     "orthogonal": sid_loss(o + off, g2).item(),
     "single_nan": bool(torch.isnan(sid_loss(torch.randn(1, 8), torch.randn(1, 8))))}
E, T = torch.randn(6, 5), torch.randn(6, 5)
r["E"], r["T"], r["value"] = E.tolist(), T.tolist(), sid_loss(E, T).item()
U = torch.arange(4 * 4 * 2, dtype=torch.float32).reshape(4, 4, 2)   # [row][col]
r["ids_at"] = ids_at(U, torch.tensor([[3, 1], [0, 2]])).tolist()      # cells (col, row)
print(json.dumps(r))`));
  assert.ok(Math.abs(out.aligned) < 1e-5, `aligned: ${out.aligned}`);
  assert.ok(Math.abs(out.opposite - 2) < 1e-5, `opposite: ${out.opposite}`);
  assert.ok(Math.abs(out.orthogonal - 1) < 1e-5, `orthogonal: ${out.orthogonal}`);
  assert.equal(out.single_nan, true, "a batch of one has no centred direction: NaN");
  // the formula, computed independently: 1 − mean cos(e − mean(e), g)
  const E: number[][] = out.E, T: number[][] = out.T;
  const mean = E[0].map((_, k) => E.reduce((s, r) => s + r[k], 0) / E.length);
  let cs = 0;
  E.forEach((r, i) => {
    const s = r.map((v, k) => v - mean[k]);
    const dot = s.reduce((a, v, k) => a + v * T[i][k], 0);
    cs += dot / (Math.hypot(...s) * Math.hypot(...T[i]));
  });
  assert.ok(Math.abs(out.value - (1 - cs / E.length)) < 1e-5, `${out.value} vs ${1 - cs / E.length}`);
  assert.deepEqual(out.ids_at, [[14, 15], [16, 17]]); // U[row 1][col 3] = 4·1+3 = 7 → [14, 15]; U[2][0] = 8 → [16, 17]
});

test("universal IDs saved by the TypeScript API are read by the trainer at the right cells and site", () => {
  const m = 4, dim = 3;
  const grid = (scale: number) => {
    const data = new Float64Array(m * m * dim);
    for (let y = 0; y < m; y++) for (let x = 0; x < m; x++) for (let k = 0; k < dim; k++) data[(y * m + x) * dim + k] = scale * (10 * x + y) + k / 10;
    return { m, dim, data };
  };
  const axes = { h: new Float64Array(dim), v: new Float64Array(dim) };
  const base = join(tmp, "uids");
  saveUniversalIds(base, { model: "t", m, dim, sites: ["blocks.2.hook_resid_post", "blocks.3.hook_resid_post"],
    grids: { "blocks.2.hook_resid_post": grid(1), "blocks.3.hook_resid_post": grid(2) }, axes: { "blocks.2.hook_resid_post": axes, "blocks.3.hook_resid_post": axes }, info: {} });
  const got = JSON.parse(python(`
import json, sys, torch
from tools.finetune.train import universal_ids
from tools.finetune.losses import ids_at
U = universal_ids("t", 4, path=sys.argv[1])          # hidden_states[4] = blocks.3.hook_resid_post
print(json.dumps(ids_at(U, torch.tensor([[2, 1], [0, 3]])).tolist()))`, [`${base}.safetensors`]));
  // cell (x = 2, y = 1) at blocks.3 (scale 2): 2·21 = 42; (0, 3): 6
  assert.deepEqual(got.map((r: number[]) => r.map((v) => Math.round(v * 10) / 10)), [[42, 42.1, 42.2], [6, 6.1, 6.2]]);
});

test("the toy model rebuilt from the ONNX initializers matches ONNX Runtime", () => {
  const diff = Number(python(`
import torch
from tools.finetune.onnx_weights import load_from_bundle, check_against_ort
torch.set_num_threads(1)
m, v, d = load_from_bundle("toy-llava-zoo-1000")
print(check_against_ort(m, v, d))`));
  assert.ok(diff <= 1e-4, `max |torch − ORT| = ${diff}`);
});

const derived = existsSync(modelsDir()) ? readdirSync(modelsDir()).filter((d) => d.startsWith("toy-llava-sidft-")) : [];

test("the spatial-ID fine-tuned bundles are shipped", () => {
  for (const n of ["toy-llava-sidft-control", "toy-llava-sidft-spatial"]) assert.ok(derived.includes(n), `data/models/${n} is missing: python -m tools.finetune.ship`);
});

for (const name of derived) {
  test(`derived bundle ${name}: small, own vision encoder only, decoder identical to the base, answers differ`, async () => {
    const dir = join(modelsDir(), name);
    const b = readBundle(name);
    const baseName = String(b.meta.base);
    const baseDir = join(modelsDir(), baseName);
    assert.deepEqual(b.bases, [baseDir]);
    const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
    assert.ok(size(dir) <= 3 * 2 ** 20, `${dir} is ${size(dir)} bytes, over 3 MB`);
    assert.equal(b.onnx.vision, join(dir, "onnx", "vision_encoder.onnx"));
    assert.equal(b.onnx.decoder, join(baseDir, "onnx", "decoder_model_merged.onnx"));
    assert.equal(b.onnx.embed, join(baseDir, "onnx", "embed_tokens.onnx"));
    assert.ok(!readFileSync(b.onnx.vision).equals(readFileSync(join(baseDir, "onnx", "vision_encoder.onnx"))), "vision encoder equals the base's");
    const fine = await loadModel(name), base = await loadModel(baseName);
    try {
      const scene = await generateScene("clutter-lr", { seed: 7, index: 0, size: 64, split: "heldout" });
      const [xf, xb] = await Promise.all([fine, base].map((m) => m.prepare({ image: scene.frames[0], prompt: scene.meta.question })));
      const [rf, rb] = await Promise.all([fine.patch(xf, []), base.patch(xb, [])]);
      const d = Math.max(...Array.from(rf.lastLogits, (v, i) => Math.abs(v - rb.lastLogits[i])));
      assert.ok(d > 1e-4, `${name} gives the base's logits (max diff ${d})`);
      // text only (no image): the decoder and embeddings are the base's, so the logits are identical
      const [tf, tb] = await Promise.all([fine, base].map((m) => m.prepare({ prompt: "Is the frog to the left or right of the camel?" })));
      const [qf, qb] = await Promise.all([fine.patch(tf, []), base.patch(tb, [])]);
      assert.ok(qf.lastLogits.every((v, i) => v === qb.lastLogits[i]), "text-only logits differ: the decoder is not the base's");
    } finally {
      await fine.dispose();
      await base.dispose();
    }
  });
}
