// The shape every scene task produces: frames (1 for images, 8 for videos) plus the ground-truth record that goes
// into meta.jsonl. One task = one question family with a fixed set of one-word answers.
import type { Box, RgbImage } from "./image";
import type { Cell } from "./grid";
import type { Rng } from "../analysis/rng";
import type { Split } from "./pools";

export interface SceneMeta {
  task: string;
  question: string;
  /** One lowercase word. */
  answer: string;
  /** Object names; the asked objects first (subject, then reference(s)), then distractors. */
  objects: string[];
  /** Tight pixel boxes `[x0, y0, x1, y1]` (x1/y1 exclusive), same order as objects. */
  boxes: Box[];
  /** Grid tasks: `[col, row]` per object. */
  cells?: Cell[];
  [field: string]: unknown;
}

export interface TaskSample {
  frames: RgbImage[];
  meta: SceneMeta;
}

export interface TaskContext {
  rng: Rng;
  /** Canvas side in pixels. */
  size: number;
  split: Split;
}

export interface TaskDef {
  name: string;
  /** Frames per scene (1 for images). */
  frames: number;
  /** Every answer the task can give. */
  answers: readonly string[] | "objects";
  /** Relation tasks hide held-out objects in the train split; grounding tasks use every object. */
  kind: "relation" | "grounding";
  describe: string;
  generate(ctx: TaskContext): Promise<TaskSample>;
}
