// Executes notebooks headless with the linmech TypeScript kernel (jupyter nbconvert --execute), writes the executed
// .ipynb and an HTML export into an output folder, and fails loudly when any cell errors.
//   node src/dist/cli/notebooks.js run [--out out/figures] [--ci] [name-filter ...]
// --ci sets LINMECH_CI=1 so figure notebooks use their reduced-size parameters.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { repoRoot } from "../util/paths";

export interface ExecuteOptions {
  /** Folder for the executed .ipynb and .html (created if missing). */
  outDir: string;
  /** Sets LINMECH_CI=1 in the kernel's environment (reduced-size runs). */
  ci?: boolean;
  /** Seconds one cell may run before nbconvert gives up. */
  cellTimeoutSeconds?: number;
  /** Extra environment variables for the kernel (notebook parameters). */
  env?: Record<string, string>;
}

export interface NotebookRun {
  notebook: string;
  ok: boolean;
  seconds: number;
  executed?: string;
  html?: string;
  error?: string;
}

const KERNEL = "linmech-ts";

function jupyterBin(): string {
  const bin = join(repoRoot(), ".venv", "bin", "jupyter");
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found: run \`bash scripts/bootstrap.sh\` to create the Jupyter venv and the ${KERNEL} kernel.`);
  }
  return bin;
}

/** Last lines of nbconvert's stderr that say what failed (the cell's error, not the traceback plumbing). */
function summariseFailure(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const start = lines.findIndex((l) => l.includes("CellExecutionError") || l.includes("An error occurred while executing"));
  const useful = start >= 0 ? lines.slice(start) : lines.slice(-25);
  return useful.slice(0, 40).join("\n");
}

/** Hook for the widgets: render static PNGs of linmech figure outputs (if kernel-ext provides it). */
function addStaticImagesIfAvailable(ipynb: string): void {
  let mod: { addStaticImages?: (path: string) => unknown } | undefined;
  try {
    mod = require("@linmech/kernel-ext/dist/static-images");
  } catch {
    return; // kernel-ext without static rendering: the HTML shows the text/plain fallback
  }
  if (typeof mod?.addStaticImages !== "function") return;
  const r = spawnSync(process.execPath, ["-e", `Promise.resolve(require(${JSON.stringify(require.resolve("@linmech/kernel-ext/dist/static-images"))}).addStaticImages(${JSON.stringify(ipynb)})).catch(e => { console.error(e); process.exit(1); })`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rendering static images for ${ipynb} failed:\n${r.stderr}`);
}

/** Executes one notebook; never throws for a failing cell (the result says why), throws for a broken set-up. */
export function executeNotebook(notebookPath: string, opts: ExecuteOptions): NotebookRun {
  const nb = resolve(notebookPath);
  if (!existsSync(nb)) throw new Error(`notebook ${nb} does not exist`);
  mkdirSync(opts.outDir, { recursive: true });
  const name = basename(nb, ".ipynb");
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, LINMECH_ROOT: repoRoot() };
  if (opts.ci) env.LINMECH_CI = "1";
  const t0 = Date.now();
  const exec = spawnSync(
    jupyterBin(),
    [
      "nbconvert", "--to", "notebook", "--execute",
      `--ExecutePreprocessor.kernel_name=${KERNEL}`,
      `--ExecutePreprocessor.timeout=${opts.cellTimeoutSeconds ?? 3600}`,
      "--ExecutePreprocessor.startup_timeout=300",
      "--output-dir", resolve(opts.outDir), "--output", `${name}.ipynb`, nb,
    ],
    { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (Date.now() - t0) / 1000;
  const executed = join(resolve(opts.outDir), `${name}.ipynb`);
  if (exec.status !== 0) {
    return { notebook: nb, ok: false, seconds, error: summariseFailure(exec.stderr ?? String(exec.error)) };
  }
  addStaticImagesIfAvailable(executed);
  const html = spawnSync(jupyterBin(), ["nbconvert", "--to", "html", "--output-dir", resolve(opts.outDir), executed], {
    env, encoding: "utf8",
  });
  if (html.status !== 0) {
    return { notebook: nb, ok: false, seconds, executed, error: `HTML export failed:\n${html.stderr}` };
  }
  return { notebook: nb, ok: true, seconds, executed, html: join(resolve(opts.outDir), `${name}.html`) };
}

/** Every notebook in notebooks/ (sorted), optionally filtered by substrings of the file name. */
export function listNotebooks(filters: string[] = []): string[] {
  const dir = join(repoRoot(), "notebooks");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort()
    .map((f) => join(dir, f));
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command !== "run") {
    console.error("usage: notebooks run [--out DIR] [--ci] [name-filter ...]");
    return 2;
  }
  let outDir = join(repoRoot(), "out", "figures");
  let ci = process.env.LINMECH_CI === "1";
  const filters: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--out") outDir = resolve(rest[++i] ?? "");
    else if (rest[i] === "--ci") ci = true;
    else filters.push(rest[i]);
  }
  const notebooks = listNotebooks(filters);
  if (notebooks.length === 0) {
    console.error(`no notebooks in notebooks/ match ${JSON.stringify(filters)}`);
    return 1;
  }
  const runs: NotebookRun[] = [];
  for (const nb of notebooks) {
    console.log(`[notebooks] executing ${basename(nb)}${ci ? " (LINMECH_CI=1: reduced sizes)" : ""} ...`);
    const r = executeNotebook(nb, { outDir, ci });
    runs.push(r);
    console.log(r.ok ? `[notebooks]   ok in ${r.seconds.toFixed(1)} s -> ${r.html}` : `[notebooks]   FAILED after ${r.seconds.toFixed(1)} s:\n${r.error}`);
  }
  const failed = runs.filter((r) => !r.ok);
  console.log(`[notebooks] ${runs.length - failed.length} of ${runs.length} notebooks executed; outputs in ${outDir}`);
  if (failed.length > 0) {
    console.error(`[notebooks] failed: ${failed.map((r) => basename(r.notebook)).join(", ")}`);
    return 1;
  }
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
