// Depth scenes on a ground plane seen by a pinhole camera at height 1: an object at ground position (X, Z) stands
// with its base at row horizon + f/Z and is f·w/Z pixels tall, so farther objects are smaller and higher in the
// frame, and nearer objects are painted last (occlusion). Near/far asks about the 3-D distance between two
// objects; front/behind about which is closer to the camera.
import type { Rng } from "../analysis/rng";
import { type Box, type RgbImage } from "./image";
import { groundBackground } from "./backgrounds";
import { paste } from "./compose";
import { checkCanvas } from "./grid";
import { checkObjectName } from "./objects";
import { overlapFraction, placedBox, type Placed } from "./placement";
import { uniformIn } from "./seeds";
import { sprite } from "./sprites";

/** Camera of a `size`-px square frame. */
export interface GroundCamera {
  size: number;
  /** Row of the horizon. */
  horizon: number;
  /** Focal length in px (camera height 1, so an object at Z = 1 stands on the bottom row). */
  focal: number;
  /** World side of every object (objects are squares standing on the ground). */
  objectWorld: number;
}

export function groundCamera(size: number): GroundCamera {
  checkCanvas(size);
  const horizon = Math.round(0.3 * size);
  return { size, horizon, focal: size - 1 - horizon, objectWorld: 0.7 };
}

/** Nearest and farthest depths used by the samplers. */
export const Z_MIN = 1;
export const Z_MAX = 2.8;

/** Screen centre x, base row and side (px) of an object at (X, Z). */
export function project(cam: GroundCamera, X: number, Z: number): { cx: number; base: number; side: number } {
  return { cx: cam.size / 2 + (cam.focal * X) / Z, base: cam.horizon + cam.focal / Z, side: (cam.focal * cam.objectWorld) / Z };
}

/** Whether an object at (X, Z) is fully in frame. */
export function inFrame(cam: GroundCamera, X: number, Z: number): boolean {
  const p = project(cam, X, Z);
  return Z >= Z_MIN && Z <= Z_MAX && p.cx - p.side / 2 >= 0 && p.cx + p.side / 2 <= cam.size;
}

/** A random in-frame ground position with depth in [zLo, zHi]. */
export function randomGroundPoint(rng: Rng, cam: GroundCamera, zLo = Z_MIN, zHi = Z_MAX): [number, number] {
  const Z = uniformIn(rng, zLo, zHi);
  const half = ((cam.size / 2) * Z) / cam.focal - cam.objectWorld / 2;
  return [uniformIn(rng, -half, half), Z];
}

export interface GroundObject {
  name: string;
  X: number;
  Z: number;
}

export interface DepthRender {
  image: RgbImage;
  boxes: Box[];
  sizes: number[];
  placed: Placed[];
}

/** Paints objects far-to-near on a ground background; boxes/sizes follow the input order. */
export async function renderGround(rng: Rng, cam: GroundCamera, objs: readonly GroundObject[], background?: RgbImage): Promise<DepthRender> {
  const image = background ?? groundBackground(rng, cam.size, cam.size, cam.horizon);
  const placed: Placed[] = [];
  for (const o of objs) {
    checkObjectName(o.name);
    const p = project(cam, o.X, o.Z);
    const side = Math.max(4, Math.round(p.side));
    const s = await sprite(o.name, side);
    placed.push({ sprite: s, x: Math.round(p.cx - side / 2), y: Math.round(p.base - side) });
  }
  const order = objs.map((_, i) => i).sort((a, b) => objs[b].Z - objs[a].Z || a - b);
  for (const i of order) paste(image, placed[i].sprite, placed[i].x, placed[i].y);
  const S = cam.size;
  const boxes = placed.map((p) => {
    const b = placedBox(p);
    return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(S, b[2]), Math.min(S, b[3])] as Box;
  });
  return { image, boxes, sizes: placed.map((p) => p.sprite.size), placed };
}

/** Ground distance bands: near = [0.75, 1.1], far = [2.0, 3.2] world units (a clear gap between the answers). */
export const NEAR_BAND: [number, number] = [0.75, 1.1];
export const FAR_BAND: [number, number] = [2.0, 3.2];

export interface NearFarScene extends DepthRender {
  objects: [string, string];
  answer: "near" | "far";
  distance: number;
  depths: [number, number];
}

/** Subject near to (or far from) the reference on the ground plane. */
export async function nearFarScene(rng: Rng, subject: string, reference: string, answer: "near" | "far", size = 64): Promise<NearFarScene> {
  if (answer !== "near" && answer !== "far") throw new Error(`nearFarScene: answer must be "near" or "far", got ${JSON.stringify(answer)}`);
  if (subject === reference) throw new Error(`nearFarScene: subject and reference are both ${subject}; use two different objects`);
  const cam = groundCamera(size);
  const band = answer === "near" ? NEAR_BAND : FAR_BAND;
  for (let t = 0; t < 5000; t++) {
    const [Xr, Zr] = randomGroundPoint(rng, cam);
    const d = uniformIn(rng, band[0], band[1]);
    const th = rng.uniform() * 2 * Math.PI;
    const Xs = Xr + d * Math.cos(th), Zs = Zr + d * Math.sin(th);
    if (!inFrame(cam, Xs, Zs)) continue;
    const r = await renderGroundChecked(rng, cam, [{ name: subject, X: Xs, Z: Zs }, { name: reference, X: Xr, Z: Zr }], 0.6);
    if (r === null) continue;
    return { ...r, objects: [subject, reference], answer, distance: d, depths: [Zs, Zr] };
  }
  throw new Error(`nearFarScene: no ${answer} placement found on a ${size}px canvas`);
}

export interface FrontBehindScene extends DepthRender {
  objects: [string, string];
  answer: "front" | "behind";
  depths: [number, number];
  /** Whether the two visible boxes overlap (occlusion cue present). */
  occluding: boolean;
}

/** Subject in front of (closer to the camera than) or behind the reference; usually overlapping on screen. */
export async function frontBehindScene(rng: Rng, subject: string, reference: string, answer: "front" | "behind", size = 64): Promise<FrontBehindScene> {
  if (answer !== "front" && answer !== "behind") throw new Error(`frontBehindScene: answer must be "front" or "behind", got ${JSON.stringify(answer)}`);
  if (subject === reference) throw new Error(`frontBehindScene: subject and reference are both ${subject}; use two different objects`);
  const cam = groundCamera(size);
  const wantOverlap = rng.uniform() < 0.7;
  for (let t = 0; t < 5000; t++) {
    const Zn = uniformIn(rng, Z_MIN, 2);
    const Zf = Zn * uniformIn(rng, 1.35, 1.9);
    if (Zf > Z_MAX) continue;
    const [Xn] = randomGroundPoint(rng, cam, Zn, Zn);
    const pn = project(cam, Xn, Zn);
    // the far object's screen centre within (overlap) or beyond (no overlap) the near object's half-width
    const pf0 = project(cam, 0, Zf);
    const reach = (pn.side + pf0.side) / 2;
    const dx = wantOverlap ? uniformIn(rng, -0.7, 0.7) * reach : (rng.uniform() < 0.5 ? -1 : 1) * uniformIn(rng, 1.05, 2.5) * reach;
    const Xf = ((pn.cx + dx - size / 2) * Zf) / cam.focal;
    if (!inFrame(cam, Xn, Zn) || !inFrame(cam, Xf, Zf)) continue;
    const near: GroundObject = { name: answer === "front" ? subject : reference, X: Xn, Z: Zn };
    const far: GroundObject = { name: answer === "front" ? reference : subject, X: Xf, Z: Zf };
    const objs = answer === "front" ? [near, far] : [far, near];
    const r = await renderGroundChecked(rng, cam, objs, 0.75);
    if (r === null) continue;
    const occluding = overlapFraction(r.boxes[0], r.boxes[1]) > 0;
    return { ...r, objects: [subject, reference], answer, depths: [objs[0].Z, objs[1].Z], occluding };
  }
  throw new Error(`frontBehindScene: no ${answer} placement found on a ${size}px canvas`);
}

/** Renders, or returns null when the farther object would be hidden more than `maxHidden` (box overlap fraction). */
async function renderGroundChecked(rng: Rng, cam: GroundCamera, objs: GroundObject[], maxHidden: number): Promise<DepthRender | null> {
  const boxes: Box[] = [];
  for (const o of objs) {
    const p = project(cam, o.X, o.Z);
    const side = Math.max(4, Math.round(p.side));
    const s = await sprite(o.name, side);
    const x = Math.round(p.cx - side / 2), y = Math.round(p.base - side);
    boxes.push([x + s.box[0], y + s.box[1], x + s.box[2], y + s.box[3]]);
  }
  if (overlapFraction(boxes[0], boxes[1]) > maxHidden) return null;
  return renderGround(rng, cam, objs);
}
