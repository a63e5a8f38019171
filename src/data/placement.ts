// Free placement of sprites on a canvas: candidate positions, the visible box they give, and overlap tests used
// by the rejection samplers of the cluttered, in-between and video scenes.
import type { Rng } from "../analysis/rng";
import type { Box } from "./image";
import type { Sprite } from "./sprites";

/** A sprite at an integer top-left position. */
export interface Placed {
  sprite: Sprite;
  x: number;
  y: number;
}

/** The visible (tight) box of a placed sprite, unclipped. */
export function placedBox(p: Placed): Box {
  const b = p.sprite.box;
  return [p.x + b[0], p.y + b[1], p.x + b[2], p.y + b[3]];
}

/** Centre of the visible box. */
export function placedCentre(p: Placed): [number, number] {
  const b = placedBox(p);
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/** Area of a box. */
export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** Area of the intersection of two boxes. */
export function intersectionArea(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection as a fraction of the smaller box (1 = one box inside the other). */
export function overlapFraction(a: Box, b: Box): number {
  const m = Math.min(boxArea(a), boxArea(b));
  return m > 0 ? intersectionArea(a, b) / m : 0;
}

/** A uniformly random position that keeps the sprite's visible box inside a canvas (margin px from the edges). */
export function randomPlacement(rng: Rng, s: Sprite, width: number, height: number, margin = 0): Placed {
  const [bx0, by0, bx1, by1] = s.box;
  const xMin = margin - bx0, xMax = width - margin - bx1;
  const yMin = margin - by0, yMax = height - margin - by1;
  if (xMax < xMin || yMax < yMin) throw new Error(`randomPlacement: a ${s.size}px ${s.name} does not fit in ${width}x${height} with margin ${margin}`);
  return { sprite: s, x: xMin + rng.int(xMax - xMin + 1), y: yMin + rng.int(yMax - yMin + 1) };
}

/** Places a sprite so that its visible-box centre is as close as possible to (cx, cy). */
export function placeAtCentre(s: Sprite, cx: number, cy: number): Placed {
  const b = s.box;
  return { sprite: s, x: Math.round(cx - (b[0] + b[2]) / 2), y: Math.round(cy - (b[1] + b[3]) / 2) };
}

/** Whether the visible box lies inside the canvas. */
export function insideCanvas(p: Placed, width: number, height: number): boolean {
  const b = placedBox(p);
  return b[0] >= 0 && b[1] >= 0 && b[2] <= width && b[3] <= height;
}
