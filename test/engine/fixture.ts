// The tiny-LLaVA fixture of tools/reference (bundle + PyTorch reference values), built on demand.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "linmech";

export const FIXTURE = join(repoRoot(), ".cache", "fixtures", "tiny-llava");
export const BUNDLE = join(FIXTURE, "bundle");

export interface ArrayRef {
  file: string;
  shape: number[];
}
export interface RefInput {
  image: string;
  question: string;
  input_ids: number[];
  tokens: string[];
  positions: Record<string, number>;
  image_token_positions: number[];
  pixel_values: ArrayRef;
  hidden: Record<string, ArrayRef>;
  last_logprobs: ArrayRef;
  last_argmax: number;
  generate_greedy: number[];
}
export interface RefEdit {
  op: "replace" | "add";
  site: string;
  positions: number[];
  values?: ArrayRef;
  vector?: string;
}
export interface RefPatch {
  name: string;
  input: number;
  edits: RefEdit[];
  last_logprobs: ArrayRef;
  hidden: Record<string, ArrayRef>;
}
export interface Reference {
  num_layers: number;
  hidden_size: number;
  inputs: RefInput[];
  vectors: Record<string, ArrayRef>;
  patches: RefPatch[];
  generation: Record<string, number[] | number>;
}

/** Builds the fixture when missing; fails (never skips) when the Python tools are not installed. */
export function ensureFixture(): Reference {
  const root = repoRoot();
  if (!existsSync(join(FIXTURE, "reference.json"))) {
    const py = join(root, ".venv-tools", "bin", "python");
    if (!existsSync(py))
      throw new Error(`${py} is missing: the engine tests need the Python tools to build their fixture; run \`bash scripts/bootstrap.sh --tools\``);
    const r = spawnSync(py, ["-m", "tools.reference.build", join(".cache", "fixtures", "tiny-llava")], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`building the tiny-llava fixture failed:\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(readFileSync(join(FIXTURE, "reference.json"), "utf8")) as Reference;
}

export function loadArray(ref: ArrayRef): Float32Array {
  const b = readFileSync(join(FIXTURE, ref.file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function bitEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
