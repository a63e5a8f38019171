// Free-position scene tasks: cluttered left/right and above/below (COCO-Spatial stand-in), near/far, in between,
// front/behind. Answers are drawn first (balanced), then a scene is sampled that has that answer.
import { clutterScene, type Axis } from "./clutter";
import { frontBehindScene, nearFarScene } from "./depth";
import { inBetweenScene } from "./inbetween";
import { distractorPool, relationObjects } from "./pools";
import { Q } from "./questions";
import { pickDistinct } from "./seeds";
import type { TaskContext, TaskDef, TaskSample } from "./task";

async function clutterTask(name: string, axis: Axis, ctx: TaskContext): Promise<TaskSample> {
  const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
  const distractors = pickDistinct(ctx.rng, distractorPool(ctx.split, [s, r]), ctx.rng.int(4));
  const c = await clutterScene(ctx.rng, { subject: s, reference: r, axis, distractors, size: ctx.size });
  return {
    frames: [c.image],
    meta: {
      task: name,
      question: axis === "lr" ? Q.leftRight(s, r) : Q.aboveBelow(s, r),
      answer: c.relation,
      objects: c.objects,
      boxes: c.boxes,
      sizes: c.sizes,
      caption_true: c.caption_true,
      caption_false: c.caption_false,
    },
  };
}

export const clutterLr: TaskDef = {
  name: "clutter-lr",
  frames: 1,
  answers: ["left", "right"],
  kind: "relation",
  describe: "cluttered scene (textured background, 0-3 distractors): left or right; with What'sUp captions",
  generate(ctx) {
    return clutterTask(this.name, "lr", ctx);
  },
};

export const clutterAb: TaskDef = {
  name: "clutter-ab",
  frames: 1,
  answers: ["above", "below"],
  kind: "relation",
  describe: "cluttered scene (textured background, 0-3 distractors): above or below; with What'sUp captions",
  generate(ctx) {
    return clutterTask(this.name, "ab", ctx);
  },
};

export const nearFar: TaskDef = {
  name: "nearfar",
  frames: 1,
  answers: ["near", "far"],
  kind: "relation",
  describe: "ground-plane scene (size, height in frame, occlusion): is the subject near or far from the reference",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const answer = ctx.rng.int(2) === 0 ? "near" : "far";
    const sc = await nearFarScene(ctx.rng, s, r, answer, ctx.size);
    return {
      frames: [sc.image],
      meta: { task: this.name, question: Q.nearFar(s, r), answer, objects: [s, r], boxes: sc.boxes, sizes: sc.sizes, distance: round3(sc.distance), depths: sc.depths.map(round3) },
    };
  },
};

export const inBetween: TaskDef = {
  name: "inbetween",
  frames: 1,
  answers: ["yes", "no"],
  kind: "relation",
  describe: "three objects: is the subject in between the two others (no = beyond an end or beside the segment)",
  async generate(ctx): Promise<TaskSample> {
    const [s, r1, r2] = relationObjects(ctx.rng, ctx.split, 3);
    const answer = ctx.rng.int(2) === 0 ? "yes" : "no";
    const sc = await inBetweenScene(ctx.rng, s, r1, r2, answer, ctx.size);
    return {
      frames: [sc.image],
      meta: { task: this.name, question: Q.inBetween(s, r1, r2), answer, objects: sc.objects, boxes: sc.boxes, sizes: sc.sizes, t: round3(sc.t), offset: round3(sc.offset), kind: sc.kind },
    };
  },
};

export const frontBehind: TaskDef = {
  name: "frontbehind",
  frames: 1,
  answers: ["front", "behind"],
  kind: "relation",
  describe: "ground-plane scene (occlusion + size + height): is the subject in front of or behind the reference",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const answer = ctx.rng.int(2) === 0 ? "front" : "behind";
    const sc = await frontBehindScene(ctx.rng, s, r, answer, ctx.size);
    return {
      frames: [sc.image],
      meta: { task: this.name, question: Q.frontBehind(s, r), answer, objects: [s, r], boxes: sc.boxes, sizes: sc.sizes, depths: sc.depths.map(round3), occluding: sc.occluding },
    };
  },
};

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
