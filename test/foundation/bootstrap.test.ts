// The bootstrap must be idempotent (a second run only checks) and must say clearly which prerequisite is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "linmech";

const root = repoRoot();
function bootstrap(env: Record<string, string> = {}, args: string[] = []) {
  const r = spawnSync("bash", [join(root, "scripts", "bootstrap.sh"), ...args], {
    cwd: root, encoding: "utf8", env: { ...process.env, ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test("bootstrap: a second run installs nothing and only checks", () => {
  const first = bootstrap();
  assert.equal(first.status, 0, first.out);
  const second = bootstrap();
  assert.equal(second.status, 0, second.out);
  assert.doesNotMatch(second.out, /installing|writing/, `second run did work:\n${second.out}`);
  assert.match(second.out, /npm packages: up to date/);
  assert.match(second.out, /\.venv: up to date/);
  assert.match(second.out, /kernelspec linmech-ts: up to date/);
});

test("bootstrap: missing node gives one message saying what to install", () => {
  const r = bootstrap({ LINMECH_NODE: "/nonexistent/node" });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /Node\.js was not found\. Install Node\.js 20\.19 or newer/);
});

test("bootstrap: too old node is named with its version", () => {
  const dir = mkdtempSync(join(tmpdir(), "linmech-oldnode-"));
  const fake = join(dir, "node");
  writeFileSync(fake, "#!/bin/sh\necho 18.19.0\n");
  chmodSync(fake, 0o755);
  const r = bootstrap({ LINMECH_NODE: fake });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /Node\.js 18\.19\.0 is too old\. Install Node\.js 20\.19 or newer/);
});

test("bootstrap: missing python gives one message saying what to install", () => {
  const r = bootstrap({ LINMECH_PYTHON: "/nonexistent/python3" });
  assert.notEqual(r.status, 0);
  assert.match(r.out, /python3 was not found\. Install Python 3\.11/);
});

test("bootstrap: an unknown option is rejected with the valid ones", () => {
  const r = bootstrap({}, ["--frobnicate"]);
  assert.equal(r.status, 2);
  assert.match(r.out, /unknown option '--frobnicate' \(use --tools and\/or --quiet\)/);
});
