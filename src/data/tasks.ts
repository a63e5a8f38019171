// The registry of scene tasks by contract name (the names the shard CLI and the toy-model trainer use).
import type { TaskDef } from "./task";
import { gridAb, gridLr, gridWhat, gridWhereCol, gridWhereRow } from "./gridTasks";
import { videoAppear, videoOrder } from "./videoTasks";
import { clutterAb, clutterLr, frontBehind, inBetween, nearFar } from "./sceneTasks";

const REGISTRY: readonly TaskDef[] = [
  gridLr, gridAb, gridWhereCol, gridWhereRow, gridWhat,
  clutterLr, clutterAb, nearFar, inBetween, frontBehind,
  videoAppear, videoOrder,
];

/** Every task name, in registry order. */
export const TASK_NAMES: readonly string[] = Object.freeze(REGISTRY.map((t) => t.name));

/** The task definition, or one clear error listing the valid names. */
export function getTask(name: string): TaskDef {
  const t = REGISTRY.find((d) => d.name === name);
  if (t === undefined) throw new Error(`unknown task ${JSON.stringify(name)}: use one of ${TASK_NAMES.join(", ")}`);
  return t;
}
