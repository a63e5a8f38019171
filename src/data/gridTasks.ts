// Grid-tile question tasks: relations (left/right, above/below) and grounding (which column/row, what is in a cell).
import { GRID, gridObjectSizes, gridTile, type Cell } from "./grid";
import { Q, columnWord, rowWord } from "./questions";
import { groundingObjects, relationObjects } from "./pools";
import type { Rng } from "../analysis/rng";
import { pick } from "./seeds";
import type { TaskContext, TaskDef, TaskSample } from "./task";

function randomCell(rng: Rng): Cell {
  const i = rng.int(GRID * GRID);
  return [i % GRID, Math.floor(i / GRID)];
}

/** Two cells, uniform over ordered pairs that satisfy `ok` (rejection sampling keeps it uniform). */
function cellPair(rng: Rng, ok: (s: Cell, r: Cell) => boolean): [Cell, Cell] {
  for (;;) {
    const s = randomCell(rng);
    const r = randomCell(rng);
    if ((s[0] !== r[0] || s[1] !== r[1]) && ok(s, r)) return [s, r];
  }
}

/** Renders subject + reference with independently drawn standard sizes; meta lists [subject, reference]. */
async function twoObjectTile(ctx: TaskContext, subject: string, reference: string, cs: Cell, cr: Cell) {
  const sizes = gridObjectSizes(ctx.size);
  const tile = await gridTile({ a: reference, b: subject, cellA: cr, cellB: cs, size: pick(ctx.rng, sizes), sizeB: pick(ctx.rng, sizes), canvas: ctx.size });
  return {
    frames: [tile.image],
    base: {
      objects: [subject, reference],
      cells: [tile.cells[1], tile.cells[0]],
      boxes: [tile.boxes[1], tile.boxes[0]],
      sizes: [tile.sizes[1], tile.sizes[0]],
    },
  };
}

export const gridLr: TaskDef = {
  name: "grid-lr",
  frames: 1,
  answers: ["left", "right"],
  kind: "relation",
  describe: "4×4 grid tile, two objects in different columns: left or right",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const [cs, cr] = cellPair(ctx.rng, (a, b) => a[0] !== b[0]);
    const t = await twoObjectTile(ctx, s, r, cs, cr);
    return { frames: t.frames, meta: { task: this.name, question: Q.leftRight(s, r), answer: cs[0] < cr[0] ? "left" : "right", ...t.base } };
  },
};

export const gridAb: TaskDef = {
  name: "grid-ab",
  frames: 1,
  answers: ["above", "below"],
  kind: "relation",
  describe: "4×4 grid tile, two objects in different rows: above or below",
  async generate(ctx): Promise<TaskSample> {
    const [s, r] = relationObjects(ctx.rng, ctx.split, 2);
    const [cs, cr] = cellPair(ctx.rng, (a, b) => a[1] !== b[1]);
    const t = await twoObjectTile(ctx, s, r, cs, cr);
    return { frames: t.frames, meta: { task: this.name, question: Q.aboveBelow(s, r), answer: cs[1] < cr[1] ? "above" : "below", ...t.base } };
  },
};

/** Grounding tiles: two objects anywhere; the question targets one of them (field `target`, 0 or 1). */
async function groundingTile(ctx: TaskContext) {
  const [o1, o2] = groundingObjects(ctx.rng, 2);
  const [c1, c2] = cellPair(ctx.rng, () => true);
  const t = await twoObjectTile(ctx, o1, o2, c1, c2);
  const target = ctx.rng.int(2);
  return { t, target, name: t.base.objects[target], cell: t.base.cells[target] };
}

export const gridWhereCol: TaskDef = {
  name: "grid-where-col",
  frames: 1,
  answers: ["c0", "c1", "c2", "c3"],
  kind: "grounding",
  describe: "4×4 grid tile: which column (c0..c3) is the object in",
  async generate(ctx): Promise<TaskSample> {
    const g = await groundingTile(ctx);
    return { frames: g.t.frames, meta: { task: this.name, question: Q.whichColumn(g.name), answer: columnWord(g.cell[0]), ...g.t.base, target: g.target } };
  },
};

export const gridWhereRow: TaskDef = {
  name: "grid-where-row",
  frames: 1,
  answers: ["r0", "r1", "r2", "r3"],
  kind: "grounding",
  describe: "4×4 grid tile: which row (r0..r3) is the object in",
  async generate(ctx): Promise<TaskSample> {
    const g = await groundingTile(ctx);
    return { frames: g.t.frames, meta: { task: this.name, question: Q.whichRow(g.name), answer: rowWord(g.cell[1]), ...g.t.base, target: g.target } };
  },
};

export const gridWhat: TaskDef = {
  name: "grid-what",
  frames: 1,
  answers: "objects",
  kind: "grounding",
  describe: "4×4 grid tile: what is in cell r<row> c<col> (an occupied cell)",
  async generate(ctx): Promise<TaskSample> {
    const g = await groundingTile(ctx);
    return { frames: g.t.frames, meta: { task: this.name, question: Q.whatInCell(g.cell[0], g.cell[1]), answer: g.name, ...g.t.base, target: g.target } };
  },
};
