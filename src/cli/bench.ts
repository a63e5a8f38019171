#!/usr/bin/env node
// `npm run bench`: the engine's speed levers, measured as ratios in one run on one bundle (data/models/toy-llava
// when it exists, else the tiny-LLaVA test fixture), at one thread count for every side:
// All times are process CPU seconds (wall time is in the JSON too): on a shared machine CPU time is what the work
// costs, wall time also counts waiting for other processes. With one thread the two agree on an idle machine.
//   1. instrumented-but-unedited decoder vs the plain decoder (same inputs, full prompt, batch 1);
//   2. a Fig-6-style steering sweep (16 cells × 3 layers × 20 images, an add-edit at the subject word) with
//      prefix reuse + batching vs a naive loop (prepare + vision encoder + full decoder per variant);
//   3. the same sweep vs PyTorch forward hooks on the same weights (tools/bench/torch_sweep.py: per-variant
//      loop, and batched 16 variants per forward), with a cross-check of the answer log-probs.
// Prints a table and writes out/bench.json.
// Usage: node src/dist/cli/bench.js [--bundle DIR|NAME] [--hf DIR] [--threads N] [--images N] [--reps N]
//        [--prompt TEXT --word W --answers a,b] [--out FILE] [--no-torch]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import sharp from "sharp";
import { add, Edit, loadModel, Model, PreparedInput, resid } from "../engine";
import { repoRoot } from "../util/paths";

interface Args {
  bundle?: string;
  hf?: string;
  threads: number;
  images: number;
  cells: number;
  reps: number;
  batch: number;
  prompt: string;
  word: string;
  answers: string[];
  out: string;
  torch: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    threads: 1, images: 20, cells: 16, reps: 25, batch: 16, prompt: "is the frog to the left or right of the camel?",
    word: "frog", answers: ["left", "right"], out: join(repoRoot(), "out", "bench.json"), torch: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`bench: ${k} needs a value`);
      return x;
    };
    const int = (name: string) => {
      const n = Number(v());
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${name} must be a positive whole number`);
      return n;
    };
    if (k === "--bundle") a.bundle = v();
    else if (k === "--hf") a.hf = v();
    else if (k === "--threads") a.threads = int(k);
    else if (k === "--images") a.images = int(k);
    else if (k === "--cells") a.cells = int(k);
    else if (k === "--reps") a.reps = int(k);
    else if (k === "--batch") a.batch = int(k);
    else if (k === "--prompt") a.prompt = v();
    else if (k === "--word") a.word = v();
    else if (k === "--answers") a.answers = v().split(",");
    else if (k === "--out") a.out = resolve(v());
    else if (k === "--no-torch") a.torch = false;
    else throw new Error(`bench: unknown option ${k}; options: --bundle --hf --threads --images --cells --reps --batch --prompt --word --answers --out --no-torch`);
  }
  return a;
}

const python = () => join(repoRoot(), ".venv-tools", "bin", "python");

/** The bundle to measure: --bundle, else data/models/toy-llava, else the tiny fixture (built when missing). */
function pickBundle(a: Args): string {
  if (a.bundle) return a.bundle;
  const toy = join(repoRoot(), "data", "models", "toy-llava");
  if (existsSync(join(toy, "linmech.json"))) return toy;
  const fixture = join(repoRoot(), ".cache", "fixtures", "tiny-llava");
  if (!existsSync(join(fixture, "bundle", "linmech.json"))) {
    console.log("bench: data/models/toy-llava not found; building the tiny-llava fixture bundle");
    const r = spawnSync(python(), ["-m", "tools.reference.build", fixture], { cwd: repoRoot(), stdio: "inherit" });
    if (r.status !== 0) throw new Error("bench: building the tiny-llava fixture failed (run `bash scripts/bootstrap.sh --tools` first)");
  }
  return join(fixture, "bundle");
}

/** Seeded noise PNGs of the model's image size (a speed benchmark: content does not matter, size does). */
async function writeImages(dir: string, n: number, size: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  let s = 0x9e3779b9;
  const rnd = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) & 255);
  const paths: string[] = [];
  for (let k = 0; k < n; k++) {
    const px = new Uint8Array(size * size * 3).map(() => rnd());
    const p = join(dir, `image${String(k).padStart(2, "0")}.png`);
    await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(p);
    paths.push(p);
  }
  return paths;
}

function seededVectors(n: number, d: number, scale: number): Float32Array {
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), (s + 0.5) / 4294967296);
  const v = new Float32Array(n * d);
  for (let i = 0; i < v.length; i++) v[i] = scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return v;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const now = () => performance.now() / 1000;
/** process CPU seconds (all threads: ORT runs on its own with intraOpNumThreads = threads) */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface SweepSpec {
  images: string[];
  layers: number[];
  vectors: Float32Array;
  cells: number;
}

/** prefix reuse + batching: one patchMany per image (all cells × layers), from fresh caches. */
async function sweepFast(m: Model, a: Args, s: SweepSpec): Promise<{ seconds: number; wall: number; logprobs: number[][][][]; calls: number }> {
  m.clearCaches();
  const d = m.width, calls0 = m.sessionCalls;
  const t = cpuNow(), w = now();
  const logprobs: number[][][][] = [];
  for (const image of s.images) {
    const x = await m.prepare({ image, prompt: a.prompt });
    const p = x.positionOf(a.word);
    const sets: Edit[][] = [];
    for (const layer of s.layers) for (let c = 0; c < s.cells; c++) sets.push([add(resid(layer), p, s.vectors.subarray(c * d, (c + 1) * d))]);
    const out = await m.patchMany(x, sets, { logprobs: a.answers, batchSize: a.batch });
    logprobs.push(s.layers.map((_, li) => Array.from({ length: s.cells }, (_, c) => a.answers.map((w) => out[li * s.cells + c].logprobs[w]))));
  }
  return { seconds: cpuNow() - t, wall: now() - w, logprobs, calls: m.sessionCalls - calls0 };
}

/** naive: per variant prepare (tokenize + image preprocessing) + vision encoder + the full decoder, batch 1. */
async function sweepNaive(m: Model, a: Args, s: SweepSpec): Promise<{ seconds: number; wall: number; logprobs: number[][][][] }> {
  const d = m.width;
  const t = cpuNow(), w = now();
  const logprobs: number[][][][] = [];
  for (const image of s.images) {
    const perLayer: number[][][] = [];
    for (const layer of s.layers) {
      const perCell: number[][] = [];
      for (let c = 0; c < s.cells; c++) {
        m.clearCaches();
        const x = await m.prepare({ image, prompt: a.prompt });
        const out = await m.patch(x, [add(resid(layer), x.positionOf(a.word), s.vectors.subarray(c * d, (c + 1) * d))], { logprobs: a.answers, prefixReuse: false });
        perCell.push(a.answers.map((w) => out.logprobs[w]));
      }
      perLayer.push(perCell);
    }
    logprobs.push(perLayer);
  }
  return { seconds: cpuNow() - t, wall: now() - w, logprobs };
}

function maxAbs4(p: number[][][][], q: number[][][][]): number {
  return Math.max(...p.flat(3).map((v, i) => Math.abs(v - q.flat(3)[i])));
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const bundleDir = pickBundle(a);
  const inst = await loadModel(bundleDir, { threads: a.threads });
  const plain = await loadModel(bundleDir, { threads: a.threads, instrumented: false });
  const meta = inst.meta;
  const L = meta.num_layers, d = inst.width;
  // three layers spread over the depth (every layer when there are at most three)
  const layers = L <= 3 ? Array.from({ length: L }, (_, i) => i) : [0.25, 0.5, 0.75].map((f) => Math.min(L - 1, Math.round(f * L)));
  const workDir = join(dirname(a.out), "bench");
  const images = await writeImages(join(workDir, "images"), a.images, Number(meta.image_size));
  const spec: SweepSpec = { images, layers, vectors: seededVectors(a.cells, d, 2), cells: a.cells };
  const inputs: PreparedInput[] = [];
  for (const image of images) inputs.push(await inst.prepare({ image, prompt: a.prompt }));
  const T = inputs[0].length;
  inputs[0].positionOf(a.word); // fails early, listing the tokens, when the word is not in the prompt
  for (const w of a.answers) inst.answerToken(w);
  console.log(`bench: ${inst.name} (${meta.family}, ${L} layers, width ${d}, vocab ${meta.vocab_size}), prompt ${T} tokens ` +
    `(${inputs[0].imageTokens().length} image), subject "${a.word}" at ${inputs[0].positionOf(a.word)}, ${a.threads} thread(s)`);

  // 1. instrumentation overhead: full prompt, batch 1, no edits. Runs alternate plain/instrumented input by input
  //    (order flipped every repetition). Measured as process CPU time (ORT runs on its own thread; with one
  //    intra-op thread CPU time is the work done), which other processes on a shared machine disturb far less
  //    than wall time; the ratio is the median over repetitions of (instrumented total / plain total).
  for (const x of inputs.slice(0, 2)) for (const m of [plain, inst]) await m.patch(x, [], { prefixReuse: false });
  const tPlain: number[] = [], tInst: number[] = [], perRep: number[] = [];
  const cpu = async (m: Model, x: PreparedInput) => {
    const t = process.cpuUsage();
    await m.patch(x, [], { prefixReuse: false });
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 1e6;
  };
  for (let r = 0; r < a.reps; r++) {
    let sp = 0, si = 0;
    for (const x of inputs)
      if (r % 2) (si += await cpu(inst, x)), (sp += await cpu(plain, x));
      else (sp += await cpu(plain, x)), (si += await cpu(inst, x));
    tPlain.push(sp);
    tInst.push(si);
    perRep.push(si / sp);
  }
  const overhead = median(perRep);

  // 2. the sweep: fast vs naive (same numbers required)
  await sweepFast(inst, a, { ...spec, images: images.slice(0, 1) }); // warm-up
  const fastRuns = [];
  for (let r = 0; r < 3; r++) fastRuns.push(await sweepFast(inst, a, spec));
  const fast = fastRuns.sort((p, q) => p.seconds - q.seconds)[1]; // median of three
  const naive = await sweepNaive(inst, a, spec);
  const variants = images.length * layers.length * a.cells;
  const fastVsNaive = maxAbs4(fast.logprobs, naive.logprobs);

  // 3. PyTorch hooks on the same weights
  let torch: Record<string, unknown> | undefined;
  let torchNote = "";
  const hf = a.hf ?? (typeof meta.source_dir === "string" && existsSync(join(meta.source_dir, "config.json")) ? meta.source_dir
    : existsSync(join(bundleDir, "..", "hf", "config.json")) ? join(bundleDir, "..", "hf") : undefined);
  if (!a.torch) torchNote = "skipped (--no-torch)";
  else if (!hf) torchNote = "skipped: no HF folder for these weights (pass --hf DIR; linmech.json source_dir is missing or gone)";
  else if (!existsSync(python())) torchNote = `skipped: ${python()} missing (run bash scripts/bootstrap.sh --tools)`;
  else {
    const vecFile = "vectors.f32";
    writeFileSync(join(workDir, vecFile), Buffer.from(spec.vectors.buffer, spec.vectors.byteOffset, spec.vectors.byteLength));
    const job = {
      hf_dir: resolve(hf), threads: a.threads, prompt: a.prompt, answer_ids: a.answers.map((w) => inst.answerToken(w)),
      layers, vectors: { file: vecFile, shape: [a.cells, d] }, batch: a.batch,
      inputs: inputs.map((x, k) => ({ image: images[k], input_ids: x.ids, position: x.positionOf(a.word) })),
    };
    writeFileSync(join(workDir, "job.json"), JSON.stringify(job));
    const r = spawnSync(python(), ["-m", "tools.bench.torch_sweep", join(workDir, "job.json"), join(workDir, "torch.json")], {
      cwd: repoRoot(), encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: String(a.threads), MKL_NUM_THREADS: String(a.threads) },
    });
    if (r.status !== 0) throw new Error(`bench: tools/bench/torch_sweep.py failed:\n${r.stderr.slice(-3000)}`);
    torch = JSON.parse(readFileSync(join(workDir, "torch.json"), "utf8")) as Record<string, unknown>;
  }
  const tNaive = torch?.naive_s as number | undefined, tBatched = torch?.batched_s as number | undefined;
  const ortVsTorch = torch ? maxAbs4(fast.logprobs, torch.logprobs_naive as number[][][][]) : undefined;

  const rows: [string, string, string, string][] = [
    ["instrumented, unedited / plain decoder (full prompt, batch 1, CPU time)", `${(median(tInst) * 1000 / inputs.length).toFixed(2)} / ${(median(tPlain) * 1000 / inputs.length).toFixed(2)} ms per run`, `${overhead.toFixed(3)}x`, "<= 1.05x"],
    [`sweep ${a.cells} cells x ${layers.length} layers x ${images.length} images: naive ORT / prefix reuse + batch ${a.batch}`, `${naive.seconds.toFixed(2)} / ${fast.seconds.toFixed(2)} s CPU`, `${(naive.seconds / fast.seconds).toFixed(1)}x`, ">= 5x"],
  ];
  if (torch) {
    rows.push(["same sweep: PyTorch hooks, one forward per variant / ours", `${tNaive!.toFixed(2)} / ${fast.seconds.toFixed(2)} s CPU`, `${(tNaive! / fast.seconds).toFixed(1)}x`, ">= 3x"]);
    rows.push([`same sweep: PyTorch hooks, ${a.batch} variants per forward / ours`, `${tBatched!.toFixed(2)} / ${fast.seconds.toFixed(2)} s CPU`, `${(tBatched! / fast.seconds).toFixed(1)}x`, "(stricter)"]);
  }
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ["what", "time", "ratio", "goal"][i].length));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  console.log("\n" + line(["what", "time", "ratio", "goal"]) + "\n" + w.map((n) => "-".repeat(n)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log(`\n${variants} variants; ours: ${fast.calls} decoder session calls (prefix prefill + batched suffixes); ` +
    `fast vs naive max |Δ log-prob| ${fastVsNaive.toExponential(2)}` +
    (ortVsTorch !== undefined ? `; ORT vs PyTorch max |Δ log-prob| ${ortVsTorch.toExponential(2)}` : `; PyTorch ${torchNote}`));

  const report = {
    date: new Date().toISOString(), bundle: bundleDir, family: meta.family, num_layers: L, hidden_size: d,
    vocab_size: meta.vocab_size, prompt_tokens: T, image_tokens: inputs[0].imageTokens().length, threads: a.threads,
    cpu: cpus()[0]?.model, node: process.version, onnxruntime: (await import("onnxruntime-node")).env.versions?.common,
    overhead: { measure: "process CPU time", instrumented_s: median(tInst), plain_s: median(tPlain), runs_per_rep: inputs.length, reps: a.reps, ratio: overhead, ratio_per_rep: perRep, goal: 1.05 },
    sweep: {
      cells: a.cells, layers, images: images.length, variants, batch: a.batch, measure: "process CPU time", fast_s: fast.seconds, naive_s: naive.seconds,
      fast_wall_s: fast.wall, naive_wall_s: naive.wall,
      fast_session_calls: fast.calls, ratio: naive.seconds / fast.seconds, goal: 5, fast_vs_naive_max_abs_logprob: fastVsNaive,
    },
    torch: torch
      ? { hf_dir: hf, version: torch.torch, threads: torch.threads, attn_implementation: torch.attn_implementation,
          measure: "process CPU time", naive_s: tNaive, batched_s: tBatched, naive_wall_s: torch.naive_wall_s, batched_wall_s: torch.batched_wall_s, ratio_vs_naive: tNaive! / fast.seconds, ratio_vs_batched: tBatched! / fast.seconds,
          goal: 3, ort_vs_torch_max_abs_logprob: ortVsTorch, torch_naive_vs_batched_max_abs: torch.naive_vs_batched_max_abs }
      : { skipped: torchNote },
  };
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify(report, null, 1) + "\n");
  console.log(`wrote ${a.out}`);
  await inst.dispose();
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
