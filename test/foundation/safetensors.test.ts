import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, repoRoot, writeSafetensors } from "linmech";

test("safetensors: round trip keeps shapes, values and metadata", () => {
  const path = join(mkdtempSync(join(tmpdir(), "st-")), "a.safetensors");
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.25 - 3);
  writeSafetensors(path, { tensors: { "layer.3": { shape: [2, 3, 4], data }, b: { shape: [1], data: Float32Array.of(7) } }, metadata: { model: "toy" } });
  const back = readSafetensors(path);
  assert.deepEqual(back.tensors["layer.3"].shape, [2, 3, 4]);
  assert.deepEqual(Array.from(back.tensors["layer.3"].data), Array.from(data));
  assert.equal(back.metadata.model, "toy");
});

test("safetensors: files load in Python's safetensors with the same values", () => {
  const py = join(repoRoot(), ".venv-tools", "bin", "python");
  assert.ok(existsSync(py), "needs .venv-tools: run `bash scripts/bootstrap.sh --tools`");
  const path = join(mkdtempSync(join(tmpdir(), "st-")), "ids.safetensors");
  writeSafetensors(path, { tensors: { x: { shape: [2, 2], data: Float32Array.of(1.5, -2, 3.25, 4) } }, metadata: { k: "v" } });
  const r = spawnSync(py, ["-c", `from safetensors.numpy import load_file; d = load_file(${JSON.stringify(path)}); print(d["x"].tolist())`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "[[1.5, -2.0], [3.25, 4.0]]");
});

test("safetensors: a truncated file gets a clear error", () => {
  assert.throws(() => readSafetensors("/nonexistent/ids.safetensors"), /cannot read \/nonexistent\/ids\.safetensors/);
});
