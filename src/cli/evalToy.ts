// Held-out accuracy of the toy model bundles, measured through the product: the TypeScript engine (ONNX Runtime)
// answers freshly generated held-out scenes from src/data (held-out objects in relation questions, held-out seed
// stream), greedy answer of up to 3 tokens, first word compared with the ground truth.
//
//   node src/dist/cli/evalToy.js [--model toy-llava[,toy-llava-zoo-1500,...]] [--tasks grid-lr,...] [--n 200]
//                                [--seed 7] [--batch 16] [--json out.json]
//
// Without --model every bundle named toy-llava* under data/models is evaluated. Without --tasks each bundle gets
// the tasks of its family (image tasks for llava, video tasks for llava-video).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateScene } from "../data/shards";
import { getTask, TASK_NAMES } from "../data/tasks";
import type { RgbImage } from "../data/image";
import { loadModel, Model } from "../engine";
import { modelsDir } from "../util/paths";

/** The image tasks the toy LLaVA is trained and evaluated on (model-card order). */
export const IMAGE_TASKS: readonly string[] = [
  "grid-lr", "grid-ab", "grid-where-col", "grid-where-row", "grid-what",
  "clutter-lr", "clutter-ab", "nearfar", "inbetween", "frontbehind",
];
export const VIDEO_TASKS: readonly string[] = ["video-appear", "video-order"];

export interface ToyEvalOptions {
  tasks?: readonly string[];
  /** scenes per task (default 200) */
  n?: number;
  /** seed of the held-out scene stream (default 7; training shards use other seeds) */
  seed?: number;
  /** rows per ONNX Runtime session call (default 16) */
  batch?: number;
  onTask?: (row: ToyEvalRow) => void;
}

export interface ToyEvalRow {
  model: string;
  task: string;
  n: number;
  correct: number;
  accuracy: number;
  /** 1 / number of possible answers of the task */
  chance: number;
  /** one example: question, model answer, truth */
  example: { question: string; answer: string; truth: string };
}

/** The answer word of a greedy generation: the first non-special token, lowercased. */
export function answerWord(tokens: readonly string[]): string {
  for (const t of tokens) {
    if (/^<.*>$/.test(t)) continue;
    const w = t.replace(/^(▁|Ġ)/, "").trim().toLowerCase();
    if (w) return w;
  }
  return "";
}

function tasksFor(model: Model): readonly string[] {
  return model.meta.family.includes("video") ? VIDEO_TASKS : IMAGE_TASKS;
}

function chanceOf(task: string): number {
  const a = getTask(task).answers;
  return 1 / (a === "objects" ? 42 : a.length);
}

/** Accuracy of one loaded model on freshly generated held-out scenes, one row per task. */
export async function evalToyModel(model: Model, opts: ToyEvalOptions = {}): Promise<ToyEvalRow[]> {
  const n = opts.n ?? 200;
  const seed = opts.seed ?? 7;
  const batch = opts.batch ?? 16;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`n must be a positive integer, got ${n}`);
  const tasks = opts.tasks ?? tasksFor(model);
  const video = model.meta.family.includes("video");
  const size = model.meta.image_size;
  const rows: ToyEvalRow[] = [];
  for (const task of tasks) {
    if (!TASK_NAMES.includes(task)) throw new Error(`unknown task "${task}"; tasks: ${TASK_NAMES.join(", ")}`);
    const def = getTask(task);
    if ((def.frames > 1) !== video)
      throw new Error(`task ${task} has ${def.frames} frame(s) but ${model.name} is a ${model.meta.family} model`);
    let correct = 0;
    let example: ToyEvalRow["example"] | undefined;
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const scenes = await Promise.all(
        Array.from({ length: count }, (_, k) => generateScene(task, { seed, index: start + k, size, split: "heldout" })),
      );
      const inputs = await Promise.all(
        scenes.map((s) => {
          const frames: RgbImage[] = s.frames;
          return video ? model.prepare({ frames, prompt: s.meta.question }) : model.prepare({ image: frames[0], prompt: s.meta.question });
        }),
      );
      const results = await model.patchBatch(inputs.map((input) => ({ input })), { generate: 3, batchSize: batch });
      results.forEach((r, k) => {
        if (!r.generated) throw new Error("the engine returned no generation for a generate: 3 request");
        const got = answerWord(r.generated.tokens);
        const truth = scenes[k].meta.answer.toLowerCase();
        if (got === truth) correct++;
        if (!example) example = { question: scenes[k].meta.question, answer: got, truth };
      });
      model.clearCaches();
    }
    const row: ToyEvalRow = { model: model.name, task, n, correct, accuracy: correct / n, chance: chanceOf(task), example: example! };
    opts.onTask?.(row);
    rows.push(row);
  }
  return rows;
}

/** Loads a bundle (path or name under data/models), evaluates it and releases its sessions. */
export async function evalToyBundle(pathOrName: string, opts: ToyEvalOptions = {}): Promise<ToyEvalRow[]> {
  const model = await loadModel(pathOrName);
  try {
    return await evalToyModel(model, opts);
  } finally {
    await model.dispose();
  }
}

/** Toy bundles shipped under data/models (folder names starting with "toy-"). */
export function toyBundles(): string[] {
  const dir = modelsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith("toy-") && existsSync(join(dir, d.name, "linmech.json")))
    .map((d) => d.name)
    .sort();
}

export function formatTable(rows: readonly ToyEvalRow[]): string {
  const head = ["model", "task", "n", "accuracy", "chance", "example (question -> answer / truth)"];
  const body = rows.map((r) => [
    r.model, r.task, String(r.n), r.accuracy.toFixed(3), r.chance.toFixed(3),
    `${r.example.question} -> ${r.example.answer || "(nothing)"} / ${r.example.truth}`,
  ]);
  const widths = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j].length)));
  const line = (cells: string[]) => "| " + cells.map((c, j) => c.padEnd(widths[j])).join(" | ") + " |";
  return [line(head), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...body.map(line)].join("\n");
}

const USAGE =
  "usage: node src/dist/cli/evalToy.js [--model NAME|PATH[,...]] [--tasks T1,T2] [--n 200] [--seed 7] [--batch 16] [--json FILE]";

function parseArgs(argv: string[]): Record<string, string> {
  const known = new Set(["model", "tasks", "n", "seed", "batch", "json"]);
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      out.help = "1";
      continue;
    }
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.has(m[1])) throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`--${m[1]} needs a value\n${USAGE}`);
    out[m[1]] = v;
  }
  return out;
}

function intArg(args: Record<string, string>, name: string, fallback: number): number {
  const v = args[name];
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const models = args.model ? args.model.split(",").filter(Boolean) : toyBundles();
  if (models.length === 0) throw new Error(`no toy bundles found under ${modelsDir()}; pass --model PATH`);
  const tasks = args.tasks ? args.tasks.split(",").filter(Boolean) : undefined;
  const opts: ToyEvalOptions = { tasks, n: intArg(args, "n", 200), seed: intArg(args, "seed", 7), batch: intArg(args, "batch", 16) };
  const all: ToyEvalRow[] = [];
  for (const m of models) {
    const t0 = Date.now();
    const rows = await evalToyBundle(m, {
      ...opts,
      onTask: (r) => console.error(`[eval] ${r.model} ${r.task}: ${r.accuracy.toFixed(3)} (${r.correct}/${r.n})`),
    });
    console.error(`[eval] ${m}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    all.push(...rows);
  }
  console.log(formatTable(all));
  if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 1) + "\n");
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`evalToy: ${e.message}`);
    process.exit(1);
  });
}
