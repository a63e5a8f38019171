// Frame-reversal counterfactual (Fig 10a): the same frames in reverse order, so what came before now comes after.
import type { RgbImage } from "./image";
import { OPPOSITE } from "./questions";
import type { SceneMeta, TaskSample } from "./task";

/** The frames in reverse order (same image objects, new array). */
export function reverseFrames(frames: readonly RgbImage[]): RgbImage[] {
  return frames.slice().reverse();
}

/**
 * Ground truth after reversal: before/after answers flip; frame indices f map to (n − 1 − f). For appearance
 * clips the objects then disappear instead of appearing (`visible_frames`), and the answer is the original's
 * opposite: the object that came first now leaves last.
 */
export function reverseMeta(meta: SceneMeta, nFrames: number): SceneMeta {
  if (meta.answer !== "before" && meta.answer !== "after") {
    throw new Error(`reverseMeta: only before/after scenes can be reversed, got task ${meta.task} with answer ${JSON.stringify(meta.answer)}`);
  }
  const m: SceneMeta = { ...meta, answer: OPPOSITE[meta.answer], reversed: !meta.reversed };
  const last = nFrames - 1;
  if (Array.isArray(meta.scene_frames)) {
    m.scene_frames = (meta.scene_frames as [number, number][]).map(([a, b]) => [last - b, last - a]);
    if (Array.isArray(meta.scene_order)) m.scene_order = (meta.scene_order as string[]).slice().reverse();
  }
  if (Array.isArray(meta.appear)) {
    delete m.appear;
    m.visible_frames = (meta.appear as number[]).map((f) => [0, last - f]);
  }
  return m;
}

/** The reversed clip with its ground truth. */
export function reverseSample(sample: TaskSample): TaskSample {
  if (sample.frames.length < 2) throw new Error(`reverseSample: a clip needs at least 2 frames, got ${sample.frames.length}`);
  return { frames: reverseFrames(sample.frames), meta: reverseMeta(sample.meta, sample.frames.length) };
}
