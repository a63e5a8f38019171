// Small on-disk datasets: PNG files + records.json for any task (videos: one folder of frame PNGs per clip), and
// the What'sUp-style variant for cluttered scenes (whatsup.json = [image, correct caption, wrong caption] rows,
// the layout of COCO-Spatial's json).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toPng } from "./image";
import { checkSplit, type Split } from "./pools";
import { generateScene } from "./shards";
import { getTask } from "./tasks";
import type { SceneMeta } from "./task";

export interface DatasetOptions {
  /** One task, or several used in turn (scene i uses tasks[i % tasks.length]). */
  tasks: string | readonly string[];
  n: number;
  seed: number;
  out: string;
  size?: number;
  split?: Split;
}

export interface DatasetRecord extends SceneMeta {
  /** PNG path relative to the dataset folder (videos: the folder of frame PNGs). */
  image: string;
  index: number;
}

/** Writes the scenes as PNGs plus records.json; returns the records. */
export async function writeSceneDataset(opts: DatasetOptions): Promise<DatasetRecord[]> {
  const tasks = typeof opts.tasks === "string" ? [opts.tasks] : [...opts.tasks];
  if (tasks.length === 0) throw new Error("writeSceneDataset: give at least one task");
  for (const t of tasks) getTask(t);
  if (!Number.isInteger(opts.n) || opts.n <= 0) throw new Error(`writeSceneDataset: n must be a positive integer, got ${opts.n}`);
  const split = checkSplit(opts.split ?? "train");
  mkdirSync(join(opts.out, "images"), { recursive: true });
  const records: DatasetRecord[] = [];
  for (let i = 0; i < opts.n; i++) {
    const task = tasks[i % tasks.length];
    const s = await generateScene(task, { seed: opts.seed, index: i, size: opts.size, split });
    const stem = `images/${String(i).padStart(5, "0")}`;
    let image: string;
    if (s.frames.length === 1) {
      image = `${stem}.png`;
      writeFileSync(join(opts.out, image), await toPng(s.frames[0]));
    } else {
      image = stem;
      mkdirSync(join(opts.out, stem), { recursive: true });
      for (let f = 0; f < s.frames.length; f++) writeFileSync(join(opts.out, stem, `frame${f}.png`), await toPng(s.frames[f]));
    }
    records.push({ ...s.meta, image, index: i });
  }
  writeFileSync(join(opts.out, "records.json"), JSON.stringify(records, null, 1) + "\n");
  return records;
}

/**
 * What'sUp-style dataset of cluttered scenes (left/right and above/below in turn by default): records.json with
 * boxes, plus whatsup.json rows `[image, caption_true, caption_false]`.
 */
export async function writeWhatsUpDataset(opts: Omit<DatasetOptions, "tasks"> & { tasks?: readonly string[] }): Promise<DatasetRecord[]> {
  const tasks = opts.tasks ?? ["clutter-lr", "clutter-ab"];
  for (const t of tasks) if (!t.startsWith("clutter-")) throw new Error(`writeWhatsUpDataset: tasks must be clutter-lr / clutter-ab, got ${t}`);
  const records = await writeSceneDataset({ ...opts, tasks });
  const rows = records.map((r) => [r.image, r.caption_true as string, r.caption_false as string]);
  writeFileSync(join(opts.out, "whatsup.json"), JSON.stringify(rows, null, 1) + "\n");
  return records;
}
