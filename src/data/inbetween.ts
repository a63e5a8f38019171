// "In between" scenes: three objects on a calm gradient background (the geometry is the hard part). Yes: the subject's centre lies on the middle part
// of the segment joining the two references (t ∈ [0.35, 0.65], small perpendicular offset). No: it lies beyond an
// end of the segment or well off to its side (half each), so neither cue alone decides the answer.
import type { Rng } from "../analysis/rng";
import { type Box, type RgbImage } from "./image";
import { texturedBackground } from "./backgrounds";
import { paste } from "./compose";
import { checkCanvas } from "./grid";
import { checkObjectName } from "./objects";
import { insideCanvas, placeAtCentre, placedBox, placedCentre, overlapFraction, type Placed } from "./placement";
import { uniformIn } from "./seeds";
import { sprite } from "./sprites";

export interface InBetweenScene {
  image: RgbImage;
  /** [subject, reference 1, reference 2] */
  objects: [string, string, string];
  boxes: Box[];
  sizes: number[];
  answer: "yes" | "no";
  /** Position of the subject along reference1 → reference2 (0..1 = between) and its perpendicular offset in px. */
  t: number;
  offset: number;
  /** For "no": "beyond" an end or "beside" the segment. */
  kind: "between" | "beyond" | "beside";
}

export async function inBetweenScene(rng: Rng, subject: string, ref1: string, ref2: string, answer: "yes" | "no", size = 64, background?: RgbImage): Promise<InBetweenScene> {
  checkCanvas(size);
  for (const [n, w] of [[subject, "subject"], [ref1, "reference 1"], [ref2, "reference 2"]] as const) checkObjectName(n, w);
  if (new Set([subject, ref1, ref2]).size !== 3) throw new Error(`inBetweenScene: objects must differ, got ${subject}, ${ref1}, ${ref2}`);
  if (answer !== "yes" && answer !== "no") throw new Error(`inBetweenScene: answer must be "yes" or "no", got ${JSON.stringify(answer)}`);
  const S = size;
  const side = () => Math.max(6, Math.round(S * 0.18 * uniformIn(rng, 0.85, 1.15)));
  const sp = [await sprite(subject, side()), await sprite(ref1, side()), await sprite(ref2, side())];
  const kind: InBetweenScene["kind"] = answer === "yes" ? "between" : rng.uniform() < 0.5 ? "beyond" : "beside";
  for (let tries = 0; tries < 5000; tries++) {
    const b = [uniformIn(rng, 0.1, 0.9) * S, uniformIn(rng, 0.1, 0.9) * S];
    const c = [uniformIn(rng, 0.1, 0.9) * S, uniformIn(rng, 0.1, 0.9) * S];
    const dx = c[0] - b[0], dy = c[1] - b[1];
    const L = Math.hypot(dx, dy);
    if (L < 0.55 * S) continue;
    let t: number, off: number;
    if (kind === "between") {
      t = uniformIn(rng, 0.35, 0.65);
      off = uniformIn(rng, -0.06, 0.06) * S;
    } else if (kind === "beyond") {
      t = rng.uniform() < 0.5 ? uniformIn(rng, -0.7, -0.3) : uniformIn(rng, 1.3, 1.7);
      off = uniformIn(rng, -0.06, 0.06) * S;
    } else {
      t = uniformIn(rng, 0.3, 0.7);
      off = (rng.uniform() < 0.5 ? -1 : 1) * uniformIn(rng, 0.25, 0.45) * S;
    }
    const ax = b[0] + t * dx - (off * dy) / L, ay = b[1] + t * dy + (off * dx) / L;
    const placed: Placed[] = [placeAtCentre(sp[0], ax, ay), placeAtCentre(sp[1], b[0], b[1]), placeAtCentre(sp[2], c[0], c[1])];
    if (!placed.every((p) => insideCanvas(p, S, S))) continue;
    const bx = placed.map(placedBox);
    if (overlapFraction(bx[0], bx[1]) > 0 || overlapFraction(bx[0], bx[2]) > 0 || overlapFraction(bx[1], bx[2]) > 0) continue;
    if (background && (background.width !== S || background.height !== S)) throw new Error(`inBetweenScene: background must be ${S}x${S}`);
    const image = background ? { width: S, height: S, data: new Uint8Array(background.data) } : texturedBackground(rng, S, S, { styles: ["gradient"], noise: 12 });
    for (const p of placed) paste(image, p.sprite, p.x, p.y);
    // report t / offset from the rendered (integer) centres
    const [pa, pb, pc] = placed.map(placedCentre);
    const ex = pc[0] - pb[0], ey = pc[1] - pb[1], l2 = ex * ex + ey * ey;
    const tt = ((pa[0] - pb[0]) * ex + (pa[1] - pb[1]) * ey) / l2;
    const oo = ((pa[1] - pb[1]) * ex - (pa[0] - pb[0]) * ey) / Math.sqrt(l2);
    return { image, objects: [subject, ref1, ref2], boxes: bx, sizes: sp.map((s) => s.size), answer, t: tt, offset: oo, kind };
  }
  throw new Error(`inBetweenScene: no "${answer}" placement found on a ${S}px canvas`);
}
