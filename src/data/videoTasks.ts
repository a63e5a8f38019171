// Video question tasks: appearance order and scene order, both answered before/after.
import { appearanceVideo, sceneOrderVideo, VIDEO_FRAMES } from "./video";
import { relationObjects } from "./pools";
import { Q } from "./questions";
import type { TaskDef, TaskSample } from "./task";

export const videoAppear: TaskDef = {
  name: "video-appear",
  frames: VIDEO_FRAMES,
  answers: ["before", "after"],
  kind: "relation",
  describe: "8 frames; the subject appears at frame f1 and the reference at f2 ≠ f1 (1..7): before or after",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const fs = 1 + ctx.rng.int(VIDEO_FRAMES - 1);
    let fr = 1 + ctx.rng.int(VIDEO_FRAMES - 2);
    if (fr >= fs) fr++; // uniform over the other six frames
    const v = await appearanceVideo(ctx.rng, s, fs, r, fr, ctx.size);
    return {
      frames: v.frames,
      meta: { task: this.name, question: Q.beforeAfter(s, r), answer: fs < fr ? "before" : "after", objects: [s, r], boxes: v.boxes, sizes: v.sizes, appear: v.appear },
    };
  },
};

export const videoOrder: TaskDef = {
  name: "video-order",
  frames: VIDEO_FRAMES,
  answers: ["before", "after"],
  kind: "relation",
  describe: "8 frames; scene 1 (frames 0-3) shows one object, scene 2 (frames 4-7) the other: before or after",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const subjectFirst = ctx.rng.int(2) === 0;
    const v = await sceneOrderVideo(ctx.rng, subjectFirst ? s : r, subjectFirst ? r : s, ctx.size);
    const iS = subjectFirst ? 0 : 1, iR = 1 - iS;
    return {
      frames: v.frames,
      meta: {
        task: this.name,
        question: Q.beforeAfter(s, r),
        answer: subjectFirst ? "before" : "after",
        objects: [s, r],
        boxes: [v.boxes[iS], v.boxes[iR]],
        sizes: [v.sizes[iS], v.sizes[iR]],
        scene_order: v.objects,
        scene_frames: [v.sceneFrames[iS], v.sceneFrames[iR]],
      },
    };
  },
};
