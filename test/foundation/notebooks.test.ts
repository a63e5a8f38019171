// The notebook harness runs real notebooks through nbconvert with the linmech-ts kernel and must fail on any
// broken cell (runtime error or TypeScript type error), naming the error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeNotebook, listNotebooks } from "linmech/dist/cli/notebooks";

function notebook(cells: string[]): string {
  const nb = {
    cells: cells.map((src, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source: src })),
    metadata: { kernelspec: { name: "linmech-ts", display_name: "TypeScript (linmech)", language: "typescript" } },
    nbformat: 4, nbformat_minor: 5,
  };
  const dir = mkdtempSync(join(tmpdir(), "linmech-nb-"));
  const path = join(dir, "probe.ipynb");
  writeFileSync(path, JSON.stringify(nb));
  return path;
}

test("notebooks: a throwing cell fails the run and the error names it", () => {
  const path = notebook(["const a = 1 + 1;", 'throw new Error("boom from cell 2");']);
  const r = executeNotebook(path, { outDir: mkdtempSync(join(tmpdir(), "linmech-out-")) });
  assert.equal(r.ok, false);
  assert.match(r.error ?? "", /boom from cell 2/);
});

test("notebooks: a TypeScript type error fails the run", () => {
  const path = notebook(['const n: number = "not a number";']);
  const r = executeNotebook(path, { outDir: mkdtempSync(join(tmpdir(), "linmech-out-")) });
  assert.equal(r.ok, false);
  assert.match(r.error ?? "", /not assignable to type 'number'/);
});

test("notebooks: a good notebook writes the executed notebook and its HTML", () => {
  const path = notebook(['console.log("fine " + (6 * 7));']);
  const out = mkdtempSync(join(tmpdir(), "linmech-out-"));
  const r = executeNotebook(path, { outDir: out });
  assert.equal(r.ok, true, r.error);
  assert.ok(r.html && existsSync(r.html));
  assert.match(readFileSync(r.executed!, "utf8"), /fine 42/);
});

test("notebooks: every notebook in notebooks/ executes headless (LINMECH_CI=1) and exports HTML", () => {
  const out = mkdtempSync(join(tmpdir(), "linmech-figures-"));
  const all = listNotebooks();
  assert.ok(all.some((p) => p.endsWith("00-hello.ipynb")), "notebooks/00-hello.ipynb is missing");
  for (const nb of all) {
    const r = executeNotebook(nb, { outDir: out, ci: true });
    assert.equal(r.ok, true, `${nb} failed:\n${r.error}`);
    assert.ok(r.html && existsSync(r.html), `${nb}: no HTML written`);
  }
});
