// Cluttered scenes, the stand-in for COCO-Spatial: a textured background, the two asked objects at free positions
// with scale jitter, and 0–3 distractors. The asked relation is clearly decided: the visible-box centres differ by
// at least `margin`·size on the asked axis.
import type { Rng } from "../analysis/rng";
import { cloneImage, type Box, type RgbImage } from "./image";
import { texturedBackground } from "./backgrounds";
import { paste } from "./compose";
import { checkObjectName } from "./objects";
import { overlapFraction, placedBox, placedCentre, randomPlacement, type Placed } from "./placement";
import { caption, OPPOSITE } from "./questions";
import { uniformIn } from "./seeds";
import { sprite } from "./sprites";
import { checkCanvas } from "./grid";

export type Axis = "lr" | "ab";

export interface ClutterOptions {
  subject: string;
  reference: string;
  axis: Axis;
  /** Distractor object names (0–3 in the shard tasks); each is dropped if it cannot be placed without hiding the asked objects. */
  distractors?: readonly string[];
  /** Canvas side (default 64). */
  size?: number;
  /** Minimum centre offset on the asked axis, as a fraction of the canvas (default 0.15). */
  margin?: number;
  /** Base object side as a fraction of the canvas (default 0.25); each object is scaled by U(0.75, 1.35). */
  objectScale?: number;
  background?: RgbImage;
}

export interface ClutterScene {
  image: RgbImage;
  /** [subject, reference, ...placed distractors] */
  objects: string[];
  boxes: Box[];
  sizes: number[];
  /** left/right (axis lr) or above/below (axis ab): where the subject is relative to the reference. */
  relation: string;
  caption_true: string;
  caption_false: string;
}

const MAX_TRIES = 2000;

/** Renders one cluttered scene. */
export async function clutterScene(rng: Rng, opts: ClutterOptions): Promise<ClutterScene> {
  const S = opts.size ?? 64;
  checkCanvas(S);
  checkObjectName(opts.subject, "subject");
  checkObjectName(opts.reference, "reference");
  if (opts.subject === opts.reference) throw new Error(`clutterScene: subject and reference are both ${opts.subject}; use two different objects`);
  if (opts.axis !== "lr" && opts.axis !== "ab") throw new Error(`clutterScene: axis must be "lr" or "ab", got ${JSON.stringify(opts.axis)}`);
  const distractors = opts.distractors ?? [];
  for (const d of distractors) checkObjectName(d, "distractor");
  const margin = (opts.margin ?? 0.15) * S;
  const base = (opts.objectScale ?? 0.25) * S;
  const side = () => Math.max(6, Math.round(base * uniformIn(rng, 0.75, 1.35)));

  if (opts.background && (opts.background.width !== S || opts.background.height !== S)) {
    throw new Error(`clutterScene: background is ${opts.background.width}x${opts.background.height}, expected ${S}x${S}`);
  }
  const image = opts.background ? cloneImage(opts.background) : texturedBackground(rng, S, S);
  const sSub = await sprite(opts.subject, side());
  const sRef = await sprite(opts.reference, side());
  const k = opts.axis === "lr" ? 0 : 1;
  let sub: Placed | null = null, ref: Placed | null = null;
  for (let t = 0; t < MAX_TRIES; t++) {
    const a = randomPlacement(rng, sSub, S, S), b = randomPlacement(rng, sRef, S, S);
    if (Math.abs(placedCentre(a)[k] - placedCentre(b)[k]) < margin) continue;
    if (overlapFraction(placedBox(a), placedBox(b)) > 0.1) continue;
    sub = a;
    ref = b;
    break;
  }
  if (sub === null || ref === null) throw new Error(`clutterScene: could not place ${opts.subject} and ${opts.reference} ${margin}px apart on a ${S}px canvas; lower margin or objectScale`);
  const placed: Placed[] = [sub, ref];
  const names = [opts.subject, opts.reference];
  for (const d of distractors) {
    const sp = await sprite(d, side());
    for (let t = 0; t < 50; t++) {
      const p = randomPlacement(rng, sp, S, S);
      const pb = placedBox(p);
      // distractors may touch the asked objects but never hide much of them
      if (placed.every((q, i) => overlapFraction(pb, placedBox(q)) <= (i < 2 ? 0.15 : 0.3))) {
        placed.push(p);
        names.push(d);
        break;
      }
    }
  }
  // random painting order so that occlusion is not tied to the object's role
  const order = placed.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const i of order) paste(image, placed[i].sprite, placed[i].x, placed[i].y);
  const cs = placedCentre(sub), cr = placedCentre(ref);
  const relation = opts.axis === "lr" ? (cs[0] < cr[0] ? "left" : "right") : cs[1] < cr[1] ? "above" : "below";
  return {
    image,
    objects: names,
    boxes: placed.map((p) => clipped(placedBox(p), S)),
    sizes: placed.map((p) => p.sprite.size),
    relation,
    caption_true: caption(opts.subject, relation, opts.reference),
    caption_false: caption(opts.subject, OPPOSITE[relation], opts.reference),
  };
}

function clipped(b: Box, S: number): Box {
  return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(S, b[2]), Math.min(S, b[3])];
}
