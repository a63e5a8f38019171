// Training/evaluation shards for the toy models: N scenes of one task written as raw uint8 frames + JSON lines.
// Scene i is generated from its own seed stream (seed, task, split, i), so output is byte-identical for the same
// arguments and the held-out split never shares random numbers with the train split.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ALL_OBJECTS, HELDOUT_OBJECTS, TRAIN_OBJECTS } from "./objects";
import { checkCanvas } from "./grid";
import { checkSplit, type Split } from "./pools";
import { streamRng } from "./seeds";
import { getTask } from "./tasks";
import type { TaskSample } from "./task";

export interface ShardOptions {
  task: string;
  n: number;
  seed: number;
  out: string;
  /** Canvas side (default 64). */
  size?: number;
  split?: Split;
}

export interface ShardInfo {
  task: string;
  n: number;
  seed: number;
  height: number;
  width: number;
  frames: number;
  split: Split;
  objects_train: string[];
  objects_heldout: string[];
  objects_all: string[];
  answers: string[];
  kind: string;
  seconds: number;
  scenes_per_second: number;
}

/** One scene of a task, exactly as scene `index` of a shard with these arguments. */
export async function generateScene(task: string, opts: { seed: number; index: number; size?: number; split?: Split }): Promise<TaskSample> {
  const def = getTask(task);
  const size = opts.size ?? 64;
  checkCanvas(size);
  const split = checkSplit(opts.split ?? "train");
  if (!Number.isInteger(opts.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
  if (!Number.isInteger(opts.index) || opts.index < 0) throw new Error(`index must be a non-negative integer, got ${opts.index}`);
  const rng = streamRng(opts.seed, "scene", task, split, opts.index);
  const sample = await def.generate({ rng, size, split });
  if (sample.frames.length !== def.frames) throw new Error(`task ${task} produced ${sample.frames.length} frames, expected ${def.frames}`);
  return sample;
}

/** Writes images.u8, meta.jsonl and info.json into `out` (created if missing). */
export async function writeShard(opts: ShardOptions): Promise<ShardInfo> {
  const def = getTask(opts.task);
  if (!Number.isInteger(opts.n) || opts.n <= 0) throw new Error(`--n must be a positive integer, got ${opts.n}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`--seed must be an integer, got ${opts.seed}`);
  const size = opts.size ?? 64;
  checkCanvas(size);
  const split = checkSplit(opts.split ?? "train");
  if (!opts.out) throw new Error("--out must name the output folder");
  mkdirSync(opts.out, { recursive: true });
  const t0 = process.hrtime.bigint();
  const fd = openSync(join(opts.out, "images.u8"), "w");
  const meta: string[] = [];
  const frameBytes = size * size * 3;
  // Buffer ~4 MB of frames per write to keep syscalls few.
  const perChunk = Math.max(1, Math.floor((4 << 20) / (frameBytes * def.frames)));
  const chunk = Buffer.alloc(perChunk * frameBytes * def.frames);
  let filled = 0;
  try {
    for (let i = 0; i < opts.n; i++) {
      const s = await generateScene(def.name, { seed: opts.seed, index: i, size, split });
      for (const f of s.frames) {
        chunk.set(f.data, filled);
        filled += frameBytes;
      }
      if (filled === chunk.length) {
        writeSync(fd, chunk, 0, filled);
        filled = 0;
      }
      meta.push(JSON.stringify(s.meta));
    }
    if (filled > 0) writeSync(fd, chunk, 0, filled);
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(opts.out, "meta.jsonl"), meta.join("\n") + "\n");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const info: ShardInfo = {
    task: def.name,
    n: opts.n,
    seed: opts.seed,
    height: size,
    width: size,
    frames: def.frames,
    split,
    objects_train: [...TRAIN_OBJECTS],
    objects_heldout: [...HELDOUT_OBJECTS],
    objects_all: [...ALL_OBJECTS],
    answers: def.answers === "objects" ? [...ALL_OBJECTS] : [...def.answers],
    kind: def.kind,
    seconds: 0,
    scenes_per_second: 0,
  };
  // Timing is reported on stderr by the CLI but kept out of info.json so reruns stay byte-identical.
  writeFileSync(join(opts.out, "info.json"), JSON.stringify({ ...info, seconds: undefined, scenes_per_second: undefined }, null, 1) + "\n");
  return { ...info, seconds, scenes_per_second: opts.n / seconds };
}
