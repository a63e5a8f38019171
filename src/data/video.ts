// 8-frame clips. Appearance clips (Fig 10b): frame 0 shows only the background, object A appears at frame f1 and
// stays, B at f2 ≠ f1 (f ∈ 1..7). Scene-order clips (Fig 10a stand-in for MVBench scene order): frames 0–3 are one
// scene with object A, frames 4–7 another scene (new background) with object B, each drifting slightly.
import type { Rng } from "../analysis/rng";
import { cloneImage, type Box, type RgbImage } from "./image";
import { texturedBackground } from "./backgrounds";
import { paste } from "./compose";
import { checkCanvas } from "./grid";
import { checkObjectName } from "./objects";
import { insideCanvas, overlapFraction, placedBox, randomPlacement, type Placed } from "./placement";
import { uniformIn } from "./seeds";
import { sprite } from "./sprites";

export const VIDEO_FRAMES = 8;

export interface AppearanceVideo {
  frames: RgbImage[];
  objects: [string, string];
  /** Box of each object (from its first frame on). */
  boxes: [Box, Box];
  sizes: [number, number];
  /** Frame at which each object appears. */
  appear: [number, number];
}

function checkFrame(f: number, what: string): void {
  if (!Number.isInteger(f) || f < 1 || f >= VIDEO_FRAMES) throw new Error(`${what} must be an integer frame in 1..${VIDEO_FRAMES - 1}, got ${f}`);
}

/** Object `a` appears at frame fa and `b` at fb (fa ≠ fb), both staying until the end. */
export async function appearanceVideo(rng: Rng, a: string, fa: number, b: string, fb: number, size = 64): Promise<AppearanceVideo> {
  checkCanvas(size);
  checkObjectName(a, "object a");
  checkObjectName(b, "object b");
  if (a === b) throw new Error(`appearanceVideo: both objects are ${a}; use two different objects`);
  checkFrame(fa, "fa");
  checkFrame(fb, "fb");
  if (fa === fb) throw new Error(`appearanceVideo: both objects appear at frame ${fa}; use different frames`);
  const side = () => Math.max(6, Math.round(size * uniformIn(rng, 0.25, 0.35)));
  const sa = await sprite(a, side()), sb = await sprite(b, side());
  let pa: Placed | null = null, pb: Placed | null = null;
  for (let t = 0; t < 2000 && pa === null; t++) {
    const p = randomPlacement(rng, sa, size, size), q = randomPlacement(rng, sb, size, size);
    if (overlapFraction(placedBox(p), placedBox(q)) === 0) [pa, pb] = [p, q];
  }
  if (pa === null || pb === null) throw new Error(`appearanceVideo: could not place ${a} and ${b} apart on a ${size}px canvas`);
  const bg = texturedBackground(rng, size, size, { styles: ["gradient", "blobs"], noise: 15 });
  const frames: RgbImage[] = [];
  for (let f = 0; f < VIDEO_FRAMES; f++) {
    const img = cloneImage(bg);
    if (f >= fa) paste(img, pa.sprite, pa.x, pa.y);
    if (f >= fb) paste(img, pb.sprite, pb.x, pb.y);
    frames.push(img);
  }
  return { frames, objects: [a, b], boxes: [placedBox(pa), placedBox(pb)], sizes: [sa.size, sb.size], appear: [fa, fb] };
}

export interface SceneOrderVideo {
  frames: RgbImage[];
  /** [object of scene 1 (frames 0–3), object of scene 2 (frames 4–7)] */
  objects: [string, string];
  /** Box of each object in the first frame of its scene. */
  boxes: [Box, Box];
  sizes: [number, number];
  /** Frame ranges [first, last] of each object's scene. */
  sceneFrames: [[number, number], [number, number]];
}

/** Two 4-frame scenes in order: `first` on one background, then `second` on another. */
export async function sceneOrderVideo(rng: Rng, first: string, second: string, size = 64): Promise<SceneOrderVideo> {
  checkCanvas(size);
  checkObjectName(first, "first object");
  checkObjectName(second, "second object");
  if (first === second) throw new Error(`sceneOrderVideo: both scenes show ${first}; use two different objects`);
  const half = VIDEO_FRAMES / 2;
  const frames: RgbImage[] = [];
  const boxes: Box[] = [];
  const sizes: number[] = [];
  for (const name of [first, second]) {
    const s = await sprite(name, Math.max(6, Math.round(size * uniformIn(rng, 0.3, 0.45))));
    const bg = texturedBackground(rng, size, size);
    // a small constant drift keeps the clip video-like; the start is chosen so the object stays in frame
    const vx = rng.int(3) - 1, vy = rng.int(3) - 1;
    let p: Placed;
    do p = randomPlacement(rng, s, size, size);
    while (!insideCanvas({ sprite: s, x: p.x + vx * (half - 1), y: p.y + vy * (half - 1) }, size, size));
    boxes.push(placedBox(p));
    sizes.push(s.size);
    for (let f = 0; f < half; f++) {
      const img = cloneImage(bg);
      paste(img, s, p.x + vx * f, p.y + vy * f);
      frames.push(img);
    }
  }
  return { frames, objects: [first, second], boxes: [boxes[0], boxes[1]], sizes: [sizes[0], sizes[1]], sceneFrames: [[0, half - 1], [half, VIDEO_FRAMES - 1]] };
}
