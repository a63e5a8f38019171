// 4×4 grid tiles (reference-code-spec §2.1): two objects, each a square sprite centred in its cell of a square
// canvas (black like the paper, or a supplied background). Column 0 = leftmost, row 0 = top.
import { blankImage, cloneImage, type Box, type RgbImage } from "./image";
import { paste } from "./compose";
import { sprite } from "./sprites";
import { PAPER_OBJECTS, checkObjectName } from "./objects";

export const GRID = 4;

/** A cell `[col, row]`, both in 0..3. */
export type Cell = [number, number];

/** Default object sides as fractions of the cell (the paper uses 74/124/174/224 of 224; tiny models need ≥ 0.6). */
export const GRID_SIZE_FRACTIONS: readonly number[] = Object.freeze([0.625, 0.75, 0.875, 1.0]);

export interface GridTileSpec {
  /** Object A (the reference, "camel" in the paper's queries). */
  a: string;
  /** Object B (the subject whose spatial ID is extracted). */
  b: string;
  cellA: Cell;
  cellB: Cell;
  /** Object side in pixels (both objects; default: the cell side). Use `gridObjectSizes(canvas)` for the standard set. */
  size?: number;
  /** Side of B when it differs from A's. */
  sizeB?: number;
  /** Canvas side in pixels, divisible by 4 (default 64). */
  canvas?: number;
  /** Background image (canvas×canvas); default black. */
  background?: RgbImage;
}

export interface GridTile {
  image: RgbImage;
  objects: [string, string];
  cells: [Cell, Cell];
  sizes: [number, number];
  /** Tight boxes of the visible pixels of A and B. */
  boxes: [Box, Box];
}

/** Standard object sides (px) for a canvas: GRID_SIZE_FRACTIONS of the cell, rounded. */
export function gridObjectSizes(canvas = 64): number[] {
  checkCanvas(canvas);
  const cell = canvas / GRID;
  return GRID_SIZE_FRACTIONS.map((f) => Math.round(f * cell));
}

export function checkCanvas(canvas: number): void {
  if (!Number.isInteger(canvas) || canvas < 16 || canvas % GRID !== 0) {
    throw new Error(`canvas size must be an integer ≥ 16 divisible by ${GRID}, got ${canvas}`);
  }
}

export function checkCell(cell: Cell, what: string): void {
  if (!Array.isArray(cell) || cell.length !== 2 || !cell.every((v) => Number.isInteger(v) && v >= 0 && v < GRID)) {
    throw new Error(`${what} must be [col, row] with integers in 0..${GRID - 1}, got ${JSON.stringify(cell)}`);
  }
}

/** Top-left pixel of a `side`-px object centred in a cell. */
export function cellOrigin(cell: Cell, side: number, canvas: number): [number, number] {
  const c = canvas / GRID;
  const off = Math.floor((c - side) / 2);
  return [cell[0] * c + off, cell[1] * c + off];
}

/** Renders one grid tile. */
export async function gridTile(spec: GridTileSpec): Promise<GridTile> {
  const canvas = spec.canvas ?? 64;
  checkCanvas(canvas);
  checkObjectName(spec.a, "object a");
  checkObjectName(spec.b, "object b");
  checkCell(spec.cellA, "cellA");
  checkCell(spec.cellB, "cellB");
  if (spec.cellA[0] === spec.cellB[0] && spec.cellA[1] === spec.cellB[1]) {
    throw new Error(`gridTile: cellA and cellB are the same cell ${JSON.stringify(spec.cellA)}; put the two objects in different cells`);
  }
  const cell = canvas / GRID;
  const sa = spec.size ?? cell;
  const sb = spec.sizeB ?? sa;
  for (const s of [sa, sb]) {
    if (!Number.isInteger(s) || s < 2 || s > cell) throw new Error(`gridTile: object size must be an integer in 2..${cell} px (the cell side), got ${s}`);
  }
  let image: RgbImage;
  if (spec.background) {
    if (spec.background.width !== canvas || spec.background.height !== canvas) {
      throw new Error(`gridTile: background is ${spec.background.width}x${spec.background.height}, expected ${canvas}x${canvas}`);
    }
    image = cloneImage(spec.background);
  } else {
    image = blankImage(canvas, canvas);
  }
  const [spA, spB] = await Promise.all([sprite(spec.a, sa), sprite(spec.b, sb)]);
  const [ax, ay] = cellOrigin(spec.cellA, sa, canvas);
  const [bx, by] = cellOrigin(spec.cellB, sb, canvas);
  const boxA = paste(image, spA, ax, ay)!;
  const boxB = paste(image, spB, bx, by)!;
  return { image, objects: [spec.a, spec.b], cells: [[...spec.cellA], [...spec.cellB]], sizes: [sa, sb], boxes: [boxA, boxB] };
}

/** One enumerated tile specification (everything gridTile needs). */
export type GridItem = Required<Pick<GridTileSpec, "a" | "b" | "cellA" | "cellB" | "size" | "canvas">>;

export interface GridEnumerationOptions {
  /** Objects to pair (all ordered pairs a ≠ b); default: the paper's ten. */
  objects?: readonly string[];
  /** Object sides in px; default gridObjectSizes(canvas). */
  sizes?: readonly number[];
  canvas?: number;
}

/**
 * Every grid tile of the paper's extraction set: ordered pairs (a, b), a ≠ b × A cells (16) × B cells ≠ A (15) ×
 * sizes, in that nesting order (a, b, cellA row-major, cellB row-major, size). Lazy: yields specs, not images.
 */
export function* enumerateGrid(opts: GridEnumerationOptions = {}): Generator<GridItem> {
  const objects = opts.objects ?? PAPER_OBJECTS;
  const canvas = opts.canvas ?? 64;
  checkCanvas(canvas);
  const sizes = opts.sizes ?? gridObjectSizes(canvas);
  for (const n of objects) checkObjectName(n);
  for (const a of objects) {
    for (const b of objects) {
      if (a === b) continue;
      for (let ai = 0; ai < GRID * GRID; ai++) {
        for (let bi = 0; bi < GRID * GRID; bi++) {
          if (ai === bi) continue;
          for (const size of sizes) {
            yield { a, b, cellA: [ai % GRID, Math.floor(ai / GRID)], cellB: [bi % GRID, Math.floor(bi / GRID)], size, canvas };
          }
        }
      }
    }
  }
}

/** Number of items enumerateGrid yields for these options (objects·(objects−1)·16·15·sizes). */
export function gridEnumerationCount(opts: GridEnumerationOptions = {}): number {
  const k = (opts.objects ?? PAPER_OBJECTS).length;
  const s = (opts.sizes ?? gridObjectSizes(opts.canvas ?? 64)).length;
  return k * (k - 1) * GRID * GRID * (GRID * GRID - 1) * s;
}
