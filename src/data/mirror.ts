// Horizontal mirror counterfactual (Fig 4A, Fig 6 "mirror(c)"): flips the pixels and maps the ground truth —
// boxes, cells, left/right answers and captions, column answers, cell questions. Vertical relations, depth,
// in-between and time are unchanged by a left-right flip.
import type { Box, RgbImage } from "./image";
import { GRID, type Cell } from "./grid";
import { OPPOSITE, Q, caption } from "./questions";
import type { SceneMeta, TaskSample } from "./task";

/** The image flipped left-right (a new image). */
export function mirrorImage(img: RgbImage): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * 3;
    for (let x = 0; x < W; x++) {
      const s = row + x * 3, d = row + (W - 1 - x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}

/** A box in the mirrored image of the given width. */
export function mirrorBox(box: Box, width: number): Box {
  return [width - box[2], box[1], width - box[0], box[3]];
}

/** A grid cell in the mirrored tile: (col, row) → (3 − col, row). */
export function mirrorGridCell(cell: Cell): Cell {
  return [GRID - 1 - cell[0], cell[1]];
}

/** Ground truth of the mirrored scene. */
export function mirrorMeta(meta: SceneMeta, width: number): SceneMeta {
  const m: SceneMeta = { ...meta, boxes: meta.boxes.map((b) => mirrorBox(b, width)), mirrored: !meta.mirrored };
  if (meta.cells) m.cells = meta.cells.map(mirrorGridCell);
  if (meta.answer === "left" || meta.answer === "right") {
    m.answer = OPPOSITE[meta.answer];
    if (typeof meta.caption_true === "string" && typeof meta.caption_false === "string") {
      const [s, r] = meta.objects;
      m.caption_true = caption(s, m.answer, r);
      m.caption_false = caption(s, meta.answer, r);
    }
  } else if (meta.task === "grid-where-col") {
    m.answer = `c${GRID - 1 - Number(meta.answer.slice(1))}`;
  } else if (meta.task === "grid-what" && typeof meta.target === "number" && meta.cells) {
    const c = m.cells![meta.target];
    m.question = Q.whatInCell(c[0], c[1]);
  }
  return m;
}

/** The mirrored scene (every frame flipped) with its ground truth. */
export function mirrorSample(sample: TaskSample): TaskSample {
  const width = sample.frames[0].width;
  return { frames: sample.frames.map(mirrorImage), meta: mirrorMeta(sample.meta, width) };
}
