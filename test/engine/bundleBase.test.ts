// Derived bundles (linmech.json "base", src/engine/bundle.ts): a bundle holding only the files that differ from its
// base (the spatial-ID fine-tuned toy models keep only onnx/vision_encoder.onnx) resolves every other file from the
// base, overrides the base's linmech.json fields with its own, fails with one clear error when the base is missing
// or the chain loops, and its content hash (universalIds.bundleHash) covers the resolved files.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleHash, readBundle, steeringModels } from "linmech";
import { BUNDLE, ensureFixture } from "./fixture";

const tmp = mkdtempSync(join(tmpdir(), "linmech-bundle-base-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function derived(name: string, meta: Record<string, unknown>, files: Record<string, Buffer> = {}): string {
  const d = join(tmp, name);
  mkdirSync(join(d, "onnx"), { recursive: true });
  writeFileSync(join(d, "linmech.json"), JSON.stringify(meta));
  for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
  return d;
}

test("derived bundle: missing files come from the base, own files and linmech.json fields win", () => {
  ensureFixture();
  const base = join(tmp, "base");
  cpSync(BUNDLE, base, { recursive: true });
  const b0 = readBundle(base);
  assert.deepEqual(b0.bases, []);
  const vision = Buffer.concat([readFileSync(join(base, "onnx", "vision_encoder.onnx")), Buffer.from([0])]);
  const d = derived("child", { base: "base", note: "fine-tuned" }, { "onnx/vision_encoder.onnx": vision });
  const b = readBundle(d);
  assert.deepEqual(b.bases, [base]);
  assert.equal(b.onnx.vision, join(d, "onnx", "vision_encoder.onnx"));
  assert.equal(b.onnx.decoder, join(base, "onnx", "decoder_model_merged.onnx"));
  assert.equal(b.onnx.embed, join(base, "onnx", "embed_tokens.onnx"));
  assert.equal(b.files["tokenizer.json"], join(base, "tokenizer.json"));
  assert.deepEqual(b.tokenizerJson, b0.tokenizerJson);
  assert.deepEqual(b.meta.hook_map, b0.meta.hook_map);
  assert.equal(b.meta.note, "fine-tuned");
  assert.equal(b.meta.base, "base");
  assert.equal(b.name, "child");
  // a relative path works too, and chains resolve through every base
  const g = derived("grandchild", { base: "../child", num_layers: b0.meta.num_layers });
  const bg = readBundle(g);
  assert.deepEqual(bg.bases, [d, base]);
  assert.equal(bg.onnx.vision, b.onnx.vision);
  // the hash covers resolved files: the derived bundle differs from its base; one with only a linmech.json naming
  // the base hashes the base's ONNX files (changing the base's vision encoder changes it)
  assert.notEqual(bundleHash(d), bundleHash(base));
  const thin = derived("thin", { base: "base" });
  const h1 = bundleHash(thin);
  writeFileSync(join(base, "onnx", "vision_encoder.onnx"), vision);
  assert.notEqual(bundleHash(thin), h1, "hash of a derived bundle ignores its base's files");
  // derived bundles are not zoo members of the steering notebooks unless asked for
  assert.deepEqual(steeringModels([], tmp), ["base"]);
});

test("derived bundle: a missing base or a cycle is one clear error", () => {
  const d = derived("orphan", { base: "no-such-bundle-xyz" });
  assert.throws(() => readBundle(d), /derived from base bundle "no-such-bundle-xyz".*not found.*restore the base bundle/);
  assert.throws(() => bundleHash(d), /no-such-bundle-xyz/);
  derived("loop-a", { base: "loop-b" });
  const b = derived("loop-b", { base: "loop-a" });
  assert.throws(() => readBundle(b), /cycle/);
  const bad = derived("bad-base", { base: 3 });
  assert.throws(() => readBundle(bad), /"base" must name a bundle/);
});

test("derived bundle: a file missing everywhere names the bundle and its bases", () => {
  const base = join(tmp, "base2");
  cpSync(BUNDLE, base, { recursive: true });
  rmSync(join(base, "onnx", "embed_tokens.onnx"));
  const d = derived("child2", { base: "base2" });
  assert.throws(() => readBundle(d), /child2 is missing onnx\/embed_tokens\.onnx \(nor do its base bundles .*base2\)/);
  assert.ok(statSync(join(d, "linmech.json")).size > 0);
});
