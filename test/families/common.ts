// Shared parity suite of the real-family tests: a seeded tiny model of the family (tools/reference/families), its
// exported bundle and PyTorch reference values (built on demand under .cache/fixtures/family-<name>, cached), and
// the checks of issue 7: every site's residual stream and the last log-probs ≤ 1e-4, a replace edit, an edit inside
// the image (with the last block's stream at every position) and an add edit ≤ 1e-4, three greedy tokens identical
// (clean and with each edit on the prompt).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { add, Edit, loadModel, Model, PreparedInput, replace, repoRoot, SiteName } from "linmech";

export const TOL = 1e-4;

interface ArrayRef {
  file: string;
  shape: number[];
}
interface RefInput {
  /** the input's image (absent for video families, which have `frames`) */
  image: string;
  /** video families: the clip's frames, in order */
  frames?: string[];
  question: string;
  input_ids: number[];
  tokens: string[];
  positions: Record<string, number>;
  hidden: Record<string, ArrayRef>;
  last_logprobs: ArrayRef;
  last_argmax: number;
  generate: number[];
  pixel_values?: ArrayRef;
}
interface RefEdit {
  op: "replace" | "add";
  site: string;
  positions: number[];
  values?: ArrayRef;
  vector?: string;
}
interface RefPatch {
  name: string;
  edits: RefEdit[];
  last_logprobs: ArrayRef;
  generate: number[];
  changes_generation?: boolean;
  /** post-edit residual stream at every position of some sites (the image edit) */
  hidden?: Record<string, ArrayRef>;
}
export interface FamilyReference {
  family: string;
  bundle_family: string;
  num_layers: number;
  hidden_size: number;
  new_tokens: number;
  sites: string[];
  inputs: RefInput[];
  vectors: Record<string, ArrayRef>;
  patches: RefPatch[];
  build_seconds: number;
}

export function fixtureDir(family: string): string {
  return join(repoRoot(), ".cache", "fixtures", `family-${family}`);
}

/** Builds the fixture when missing; fails (never skips) when the Python tools are not installed. */
export function ensureFamilyFixture(family: string): FamilyReference {
  const root = repoRoot(), dir = fixtureDir(family);
  if (!existsSync(join(dir, "reference.json"))) {
    const py = join(root, ".venv-tools", "bin", "python");
    if (!existsSync(py))
      throw new Error(`${py} is missing: the family tests need the Python tools to build their fixtures; run \`bash scripts/bootstrap.sh --tools\``);
    const r = spawnSync(py, ["-m", "tools.reference.families.build", family, dir], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`building the ${family} fixture failed:\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as FamilyReference;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Registers the parity tests of one family; `extra` adds family-specific tests with the loaded model. */
export function familyParity(family: string, extra?: (ctx: () => { model: Model; ref: FamilyReference; dir: string }) => void): void {
  let ref: FamilyReference;
  let model: Model;
  const dir = fixtureDir(family);
  const load = (r: ArrayRef) => {
    const b = readFileSync(join(dir, r.file));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  };
  const prepare = (k: number): Promise<PreparedInput> => {
    const r = ref.inputs[k];
    return r.frames
      ? model.prepare({ frames: r.frames.map((f) => join(dir, f)), prompt: r.question })
      : model.prepare({ image: join(dir, r.image), prompt: r.question });
  };
  const edits = (p: RefPatch): Edit[] =>
    p.edits.map((e) => {
      if (e.op === "replace") {
        const v = load(e.values!), d = v.length / e.positions.length;
        return replace(e.site as SiteName, e.positions, e.positions.map((_, k) => v.subarray(k * d, (k + 1) * d)));
      }
      return add(e.site as SiteName, e.positions, load(ref.vectors[e.vector!]));
    });

  before(async () => {
    ref = ensureFamilyFixture(family);
    model = await loadModel(join(dir, "bundle"), { threads: 1 });
  });
  after(async () => model?.dispose());

  test(`${family}: prepare gives the processor's ids, tokens, pixel values and word positions`, async () => {
    assert.equal(model.meta.family, ref.bundle_family);
    for (let k = 0; k < ref.inputs.length; k++) {
      const r = ref.inputs[k];
      const x = await prepare(k);
      assert.deepEqual(x.tokens, r.tokens);
      assert.deepEqual(x.ids, r.input_ids);
      if (r.pixel_values) {
        // video families: every frame, in order ([frames, 3, H, W])
        const mine = r.frames ? Float32Array.from(x.pixelValues.flatMap((p) => Array.from(p.data))) : x.pixelValues[0].data;
        const d = maxAbsDiff(mine, load(r.pixel_values));
        assert.ok(d <= 1e-5, `input ${k} pixel values: max abs diff ${d}`);
      }
      for (const [w, p] of Object.entries(r.positions)) assert.equal(x.positionOf(w), p, w);
    }
  });

  test(`${family}: every site and the last log-probs match PyTorch (≤ ${TOL})`, async (t) => {
    let worstSite = 0, worstLp = 0;
    for (let k = 0; k < ref.inputs.length; k++) {
      const r = ref.inputs[k];
      const out = await model.trace(await prepare(k), model.sites);
      assert.deepEqual(model.sites, ref.sites);
      for (const s of model.sites) {
        const d = maxAbsDiff(out.get(s).data, load(r.hidden[s]));
        assert.ok(d <= TOL, `input ${k} ${s}: max abs diff ${d}`);
        worstSite = Math.max(worstSite, d);
      }
      const d = maxAbsDiff(out.lastLogprobs, load(r.last_logprobs));
      assert.ok(d <= TOL, `input ${k} last log-probs: max abs diff ${d}`);
      worstLp = Math.max(worstLp, d);
      assert.equal(out.argmax, r.last_argmax);
    }
    t.diagnostic(`max abs diff: sites ${worstSite.toExponential(2)}, last log-probs ${worstLp.toExponential(2)}`);
  });

  test(`${family}: replace and add edits: log-probs match PyTorch (≤ ${TOL}) and change them`, async (t) => {
    const x = await prepare(0);
    const clean = load(ref.inputs[0].last_logprobs);
    for (const p of ref.patches) {
      const out = await model.patch(x, edits(p));
      const theirs = load(p.last_logprobs);
      const d = maxAbsDiff(out.lastLogprobs, theirs);
      assert.ok(d <= TOL, `${p.name}: log-prob max abs diff ${d}`);
      t.diagnostic(`${p.name}: log-prob max abs diff ${d.toExponential(2)}`);
      assert.ok(maxAbsDiff(theirs, clean) > 100 * TOL, `${p.name}: the edit must move the log-probs`);
      for (const [s, a] of Object.entries(p.hidden ?? {})) {
        // every position (no prefix to reuse), and the positions from the first edit on (the executor reuses the
        // prefix before it: before the image where image tokens attend to each other bidirectionally)
        const want = load(a), first = Math.min(...p.edits.flatMap((e) => e.positions));
        const all = await model.trace(x, s as SiteName, { edits: edits(p) });
        const dAll = maxAbsDiff(all.get(s as SiteName).data, want);
        assert.ok(dAll <= TOL, `${p.name} ${s}, every position: max abs diff ${dAll}`);
        const from = Array.from({ length: x.length - first }, (_, k) => first + k);
        const tail = await model.trace(x, { site: s as SiteName, positions: from }, { edits: edits(p) });
        const dTail = maxAbsDiff(tail.get(s as SiteName).data, want.subarray(first * model.width));
        assert.ok(dTail <= TOL, `${p.name} ${s}, positions ${first}..: max abs diff ${dTail}`);
        t.diagnostic(`${p.name}: ${s} after the edit, every position: max abs diff ${Math.max(dAll, dTail).toExponential(2)}`);
      }
    }
  });

  test(`${family}: ${"three"} greedy tokens identical to PyTorch, clean and with each edit`, async () => {
    for (let k = 0; k < ref.inputs.length; k++) {
      const out = await model.patch(await prepare(k), [], { generate: ref.new_tokens });
      assert.deepEqual(out.generated!.ids, ref.inputs[k].generate, `input ${k}`);
    }
    const x = await prepare(0);
    for (const p of ref.patches) {
      const out = await model.patch(x, edits(p), { generate: ref.new_tokens });
      assert.deepEqual(out.generated!.ids, p.generate, p.name);
    }
    const steer = ref.patches.find((p) => p.name === "add")!;
    assert.ok(steer.changes_generation, "the add edit must change the greedy tokens (a discriminating check)");
  });

  if (extra) extra(() => ({ model, ref, dir }));
}
