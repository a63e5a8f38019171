#!/usr/bin/env node
// Runs every compiled test file (test/dist/**/*.test.js) with node's built-in test runner, one file at a time
// (the machine has 2 cores; ONNX sessions and Jupyter servers inside tests already use both).
// Usage: node scripts/test.mjs [substring filter ...]
import { readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = join(import.meta.dirname, "..");
const distDir = join(root, "test", "dist");
if (!existsSync(distDir)) {
  console.error("test/dist is missing: run `bash scripts/bootstrap.sh` (it builds the tests with tsc -b) first.");
  process.exit(1);
}
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".test.js") ? [p] : [];
  });
const filters = process.argv.slice(2);
const files = walk(distDir)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${JSON.stringify(filters)} under test/dist`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, LINMECH_ROOT: root },
});
process.exit(r.status ?? 1);
