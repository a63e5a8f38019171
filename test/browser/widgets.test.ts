// Real-browser tests of the widgets: one real `jupyter lab` (from .venv, localhost, random free port, random token)
// serves a copy of notebooks/widgets-gallery.ipynb; Debian's Chromium (driven by playwright-core, no browser
// downloads) opens it, runs every cell with the linmech-ts kernel, and checks that each widget renders with the
// right legend/axis text, that the interactions work (legend toggle, hover tooltip, layer slider, steering-explorer
// click), that tables and the in-place progress bar show, that a failing cell shows one readable message while the
// kernel keeps its variables, and that the page logged no console errors.
// A second check executes the gallery headless (nbconvert, like `npm run figures`) and opens the exported HTML in
// the same browser without any JupyterLab: every figure must be there as a PNG.
// Screenshots go to test-artifacts/browser/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Locator, Page } from "playwright-core";
import { WIDGET_KINDS } from "@linmech/widgets/spec";
import { CHROMIUM_ARGS, chromiumPath } from "@linmech/kernel-ext/dist/static-images";
import { executeNotebook } from "linmech/dist/cli/notebooks";
import { repoRoot } from "linmech/dist/util/paths";

const ROOT = repoRoot();
const ARTIFACTS = join(ROOT, "test-artifacts", "browser");
const GALLERY = join(ROOT, "notebooks", "widgets-gallery.ipynb");
const JUPYTER = join(ROOT, ".venv", "bin", "jupyter");
const EXTENSION = join(ROOT, ".venv", "share", "jupyter", "labextensions", "@linmech", "widgets", "package.json");

let lab: ChildProcess | undefined;
let labLog = "";
let browser: Browser | undefined;
let page: Page | undefined;
const consoleErrors: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForServer(url: string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (lab?.exitCode !== null) throw new Error(`jupyter lab exited with code ${lab?.exitCode}:\n${labLog.slice(-3000)}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new Error(`jupyter lab did not answer ${url} within ${timeoutMs} ms:\n${labLog.slice(-3000)}`);
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 1));
}

/** The rendered widget of one kind in the notebook (exactly one per kind in the gallery). */
function widget(kind: string): Locator {
  return (page as Page).locator(`.jp-OutputArea-output .linmech-widget[data-kind="${kind}"]`);
}

async function texts(loc: Locator): Promise<string[]> {
  return (await loc.allTextContents()).map((t) => t.trim());
}

before(async () => {
  for (const [path, fix] of [
    [JUPYTER, "run `bash scripts/bootstrap.sh` (it creates .venv with JupyterLab)"],
    [EXTENSION, "run `bash scripts/bootstrap.sh` (widgets/scripts/install.sh installs the extension into .venv)"],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: ${fix}`);
  }
  const executablePath = chromiumPath(); // throws with install instructions when absent
  rmSync(ARTIFACTS, { recursive: true, force: true });
  // The served folder sits inside the repository so the kernel resolves @linmech/kernel-ext from node_modules;
  // the test works on a copy so JupyterLab's autosave never writes into notebooks/.
  const served = join(ARTIFACTS, "lab");
  mkdirSync(served, { recursive: true });
  copyFileSync(GALLERY, join(served, "widgets-gallery.ipynb"));
  // Private Jupyter config/runtime/data/settings folders (no state from earlier runs or the user's own Jupyter):
  // render every cell (no windowing, so offscreen outputs exist in the DOM), and no news or update checks (the
  // machine is offline; a failed fetch would be a console error).
  const home = join(ARTIFACTS, "jupyter-home");
  const settings = join(home, "settings");
  writeJson(join(settings, "@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings"), { windowingMode: "none" });
  writeJson(join(settings, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"), {
    fetchNews: "false", checkForUpdates: false,
  });
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  lab = spawn(
    JUPYTER,
    [
      "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`, "--ServerApp.port_retries=0",
      `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${served}`, "--LabApp.expose_app_in_browser=True",
      // CI containers run as root; jupyter refuses to start as root without this flag.
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ],
    {
      cwd: served,
      env: {
        ...process.env,
        JUPYTER_CONFIG_DIR: join(home, "config"),
        JUPYTER_RUNTIME_DIR: join(home, "runtime"),
        // user-level kernels/extensions in ~/.local/share/jupyter stay out; .venv's (sys.prefix) are still found
        JUPYTER_DATA_DIR: join(home, "data"),
        JUPYTERLAB_SETTINGS_DIR: settings,
        JUPYTERLAB_WORKSPACES_DIR: join(home, "workspaces"),
        LINMECH_ROOT: ROOT,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  lab.stdout?.on("data", (d: Buffer) => (labLog += d.toString()));
  lab.stderr?.on("data", (d: Buffer) => (labLog += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  await waitForServer(`${base}/api/status?token=${token}`, 90_000);

  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/lab/tree/widgets-gallery.ipynb?token=${token}&reset`, { timeout: 120_000 });
  await page.locator(".jp-NotebookPanel .jp-Cell").first().waitFor({ timeout: 120_000 });
  // Wait for the notebook's own kernel (from its metadata), then run every cell and wait until all finished.
  const kernel = await page.evaluate(
    `(async () => { const w = window.jupyterapp.shell.currentWidget; await w.sessionContext.ready;
       return w.sessionContext.session && w.sessionContext.session.kernel ? w.sessionContext.session.kernel.name : null; })()`,
  );
  assert.equal(kernel, "linmech-ts", "the gallery must open with the linmech-ts (tslab) kernel");
  const ran = await Promise.race([
    page.evaluate(`window.jupyterapp.commands.execute("notebook:run-all-cells")`),
    sleep(360_000).then(() => "timeout"),
  ]);
  assert.notEqual(ran, "timeout", "running all gallery cells took longer than 6 minutes");
  await page.getByText("lm.run returned 12").waitFor({ timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  if (lab && lab.exitCode === null) {
    lab.kill("SIGTERM");
    await Promise.race([new Promise((r) => lab?.once("exit", r)), sleep(10_000)]);
    if (lab.exitCode === null) lab.kill("SIGKILL");
  }
});

test("browser: every gallery cell ran without an error output", async () => {
  const p = page as Page;
  const errors = await texts(p.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"));
  assert.deepEqual(errors, [], "cells wrote errors");
  await p.screenshot({ path: join(ARTIFACTS, "gallery-top.png") });
});

test("browser: each widget kind renders once, with plot elements and a screenshot", async () => {
  for (const kind of WIDGET_KINDS) {
    const w = widget(kind);
    assert.equal(await w.count(), 1, `widget ${kind}: expected exactly one in the gallery`);
    await w.scrollIntoViewIfNeeded();
    assert.ok(await w.locator(".main-svg").count() > 0, `widget ${kind}: no plotly svg`);
    assert.ok(await w.locator(".linmech-error").count() === 0, `widget ${kind}: shows an error box`);
    const box = await w.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 200, `widget ${kind}: too small (${JSON.stringify(box)})`);
    await w.screenshot({ path: join(ARTIFACTS, `${kind}.png`) });
  }
});

test("browser: legend, axis and title text of each widget", async () => {
  const legend = (kind: string) => texts(widget(kind).locator(".legend .legendtext"));
  const svgText = async (kind: string) => (await texts(widget(kind).locator(".main-svg text"))).join(" | ");

  assert.deepEqual(await legend("belief-shift"), ['Δ"left"', 'Δ"right"']);
  const bs = await svgText("belief-shift");
  for (const t of ["(A) Mirror swapping", "Swapped image tokens", "Swapped text tokens", "Swapped object words", "Belief shift"]) {
    assert.ok(bs.includes(t), `belief-shift: "${t}" missing in ${bs}`);
  }
  assert.equal(await widget("belief-shift").locator(".scatterlayer .trace").count(), 12, "3 panels × 2 series × (band + line)");

  assert.deepEqual(await legend("spatial-map"), ["column 0", "column 1", "column 2", "column 3"]);
  const sm = await svgText("spatial-map");
  assert.match(sm, /Avg frog across varying reference: layer 14/);
  assert.match(sm, /Explained: 0\.\d\d/);
  for (const t of ["horizontal axis h_L", "vertical axis v_L", "L", "R"]) assert.ok(sm.includes(t), `spatial-map: "${t}" missing`);
  assert.equal(await widget("spatial-map").locator(".scatterlayer .point").count(), 16, "16 grid cells as points");

  const pr = await svgText("psi-regression");
  for (const t of ["R²", "Rank", "Layer", "Layer 13, rank 3"]) assert.ok(pr.includes(t), `psi-regression: "${t}" missing in ${pr}`);
  const prLegend = await legend("psi-regression");
  for (const t of ["actual", "predicted"]) assert.ok(prLegend.includes(t), `psi-regression legend lacks ${t}: ${prLegend}`);

  assert.deepEqual(await legend("bars"), ["Spatial ID", "Noise"]);
  const bars = await svgText("bars");
  for (const t of ["gemma-4b", "qwen-7b", "% belief swapped"]) assert.ok(bars.includes(t), `bars: "${t}" missing`);
  assert.equal(await widget("bars").locator(".barlayer .point").count(), 12, "6 models × 2 series");
  assert.ok(await widget("bars").locator(".errorbar").count() >= 12, "bars: error bars missing");

  const es = await svgText("error-scatter");
  for (const t of ["Baseline accuracy", "Steerability"]) assert.ok(es.includes(t), `error-scatter: "${t}" missing`);
  assert.ok(await widget("error-scatter").locator(".errorbar").count() >= 6, "error-scatter: error bars missing");

  const hLegend = await legend("histograms");
  assert.ok(hLegend.includes("Correct") && hLegend.includes("Wrong"), `histograms legend: ${hLegend}`);
  const hs = await svgText("histograms");
  for (const t of ["model A, layer 14", "model B, layer 12", "Margin relative to GT", "U-test p = 0.003"]) {
    assert.ok(hs.includes(t), `histograms: "${t}" missing`);
  }

  assert.deepEqual(await legend("intervention-lines"), ['ΔP("right")', 'ΔP("left")']);
  const il = await svgText("intervention-lines");
  for (const t of ['Ground truth: "left"', 'Ground truth: "right"', "(3, 0)"]) assert.ok(il.includes(t), `intervention-lines: "${t}" missing`);

  const se = widget("steering-explorer");
  assert.equal(await se.locator(".linmech-cell").count(), 16, "steering explorer: 4×4 grid of cells");
  assert.match(await svgText("steering-explorer"), /Steering disc toward \(3, 1\)/);
  assert.match((await se.locator(".linmech-prompt").textContent()) ?? "", /left or right of the square/);
});

test("browser: a legend click hides a series in every panel", async () => {
  const w = widget("belief-shift");
  await w.scrollIntoViewIfNeeded();
  const item = w.locator(".legend .traces").filter({ hasText: 'Δ"left"' }).locator(".legendtoggle");
  await item.click({ force: true });
  // plotly waits for a possible double click before toggling; hidden traces leave the scatter layer.
  await assertEventually(async () => (await w.locator(".scatterlayer .trace").count()) === 6, "Δ\"left\" lines and bands hidden in all 3 panels");
  await w.screenshot({ path: join(ARTIFACTS, "belief-shift-legend-toggled.png") });
  await item.click({ force: true });
  await assertEventually(async () => (await w.locator(".scatterlayer .trace").count()) === 12, "series shown again");
});

test("browser: hovering a point shows its tooltip", async () => {
  const p = page as Page;
  const w = widget("error-scatter");
  await w.scrollIntoViewIfNeeded();
  const point = w.locator(".scatterlayer .point").first();
  const box = await point.boundingBox();
  assert.ok(box, "error-scatter: no point to hover");
  await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await assertEventually(async () => (await w.locator(".hoverlayer .hovertext").count()) > 0, "a hover label appears");
  const tip = (await texts(w.locator(".hoverlayer .hovertext"))).join(" ");
  assert.ok(["gemma", "llava", "llama", "internvl", "qwen"].some((m) => tip.includes(m)), `tooltip names the model: ${tip}`);
  await w.screenshot({ path: join(ARTIFACTS, "error-scatter-hover.png") });
  await p.mouse.move(5, 5);
});

test("browser: the layer slider redraws the spatial-ID map for that layer", async () => {
  const w = widget("spatial-map");
  await w.scrollIntoViewIfNeeded();
  const slider = w.locator("input.linmech-layer-slider");
  assert.equal(await slider.inputValue(), "2");
  const before = await w.locator(".scatterlayer .point").first().getAttribute("transform");
  await slider.fill("0");
  await assertEventually(async () => /layer 6/.test((await texts(w.locator(".gtitle"))).join(" ")), "title says layer 6");
  assert.equal((await w.locator(".linmech-slider-label").textContent())?.trim(), "Layer 6");
  const moved = await w.locator(".scatterlayer .point").first().getAttribute("transform");
  assert.notEqual(moved, before, "points moved to layer 6's coordinates");
  await w.screenshot({ path: join(ARTIFACTS, "spatial-map-layer6.png") });
});

test("browser: clicking a steering-explorer cell shows that cell's sweep", async () => {
  const w = widget("steering-explorer");
  await w.scrollIntoViewIfNeeded();
  const line = () => w.locator(".scatterlayer .trace .js-line").first().getAttribute("d");
  const before = await line();
  await w.locator('.linmech-cell[data-column="1"][data-row="2"]').click();
  await assertEventually(async () => /Steering disc toward \(1, 2\)/.test((await texts(w.locator(".gtitle"))).join(" ")), "title names cell (1, 2)");
  assert.match(await w.locator('.linmech-cell[data-column="1"][data-row="2"]').getAttribute("class") ?? "", /linmech-selected/);
  assert.match((await w.locator(".linmech-readout").textContent()) ?? "", /^Steering toward \(1, 2\):/);
  assert.notEqual(await line(), before, "the plotted log-probs changed");
  await w.screenshot({ path: join(ARTIFACTS, "steering-explorer-clicked.png") });
});

test("browser: tables show as HTML tables and the progress bar updated in place", async () => {
  const p = page as Page;
  const table = p.locator(".jp-OutputArea-output table").filter({ hasText: "flipRate" });
  assert.equal(await table.count(), 1);
  assert.equal(await table.locator("tbody tr").count(), 6);
  const bars = p.locator(".jp-OutputArea-output .linmech-progress");
  assert.equal(await bars.count(), 1, "one progress output, updated in place (not one per update)");
  assert.match((await bars.textContent()) ?? "", /example sweep: 20\/20 \(100%\).*done/);
  assert.equal(await bars.locator("progress").getAttribute("value"), "20");
});

test("browser: no console errors in JupyterLab", () => {
  assert.deepEqual(consoleErrors, []);
});

test("browser: a failing cell shows one readable message, and the kernel keeps its variables", async () => {
  const p = page as Page;
  // Append two cells at the end of the (already executed) gallery: a bad spec inside lm.run, then a cell that uses a
  // variable from an earlier cell. JupyterLab's own commands do the editing and running, as a user would.
  const append = (source: string) =>
    p.evaluate(`(async () => {
      const app = window.jupyterapp, nb = app.shell.currentWidget.content;
      nb.activeCellIndex = nb.widgets.length - 1;
      await app.commands.execute("notebook:insert-cell-below");
      nb.activeCell.model.sharedModel.setSource(${JSON.stringify(source)});
      await app.commands.execute("notebook:run-cell");
    })()`);
  const lastOutput = () => texts(p.locator(".jp-Notebook .jp-Cell").last().locator(".jp-OutputArea-output"));
  await append(`await lm.run(() => lm.plot.bars({ categories: ["a", "b"], series: [{ name: "s", values: [1] }] }));`);
  await assertEventually(async () => (await lastOutput()).join("\n").includes("invalid bars spec"), "the SpecError message is shown", 60_000);
  const message = (await lastOutput()).join("\n");
  assert.match(message, /series\[0\]\.values: expected 2 entries, got 1/);
  assert.ok(message.split("\n").length <= 6, `one short message, not a library stack:\n${message}`);
  assert.ok(!/node_modules|widgets\/spec|kernel-ext|NotebookError/.test(message), `no library frames or error plumbing:\n${message}`);
  await p.locator(".jp-Notebook .jp-Cell").last().screenshot({ path: join(ARTIFACTS, "readable-error.png") });
  // The error output can arrive before the failing cell's execute_reply; a cell queued in between would be aborted by
  // JupyterLab's stop-on-error, so wait until the kernel is idle before running the next cell.
  const kernelIdle = () =>
    p.evaluate(`window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === "idle"`) as Promise<boolean>;
  await assertEventually(kernelIdle, "the kernel is idle after the failing cell", 60_000);
  await sleep(500);
  await append(`console.log("kernel alive: " + models.length + " models");`);
  await assertEventually(async () => (await lastOutput()).join(" ").includes("kernel alive: 6 models"), "a later cell still sees earlier variables", 60_000);
  assert.deepEqual(consoleErrors, [], "no console errors from the failing cell");
});

test("export: the HTML of the executed gallery shows every figure as a PNG without the extension", async () => {
  const out = join(ARTIFACTS, "export");
  const r = executeNotebook(GALLERY, { outDir: out, ci: true });
  assert.equal(r.ok, true, r.error);
  assert.ok(r.html);
  const p = await (browser as Browser).newPage({ viewport: { width: 1200, height: 900 } });
  try {
    await p.goto(pathToFileURL(r.html).href, { waitUntil: "load", timeout: 60_000 });
    assert.equal(await p.locator(".linmech-widget").count(), 0, "no widget renderer in plain HTML");
    const imgs = p.locator(".jp-OutputArea-output img[src^='data:image/png']");
    assert.equal(await imgs.count(), WIDGET_KINDS.length, "one PNG per widget output");
    const sizes = (await p.evaluate(
      `Array.from(document.querySelectorAll(".jp-OutputArea-output img[src^='data:image/png']")).map((i) => [i.naturalWidth, i.naturalHeight])`,
    )) as [number, number][];
    for (const [w, h] of sizes) assert.ok(w > 400 && h > 200, `a PNG failed to decode or is tiny: ${w}×${h}`);
    await p.screenshot({ path: join(ARTIFACTS, "export-html.png"), fullPage: false });
  } finally {
    await p.close();
  }
});

async function assertEventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`not true within ${timeoutMs} ms: ${what}`);
}
