// Fields shared by every widget spec, and their validation.
import { Checker } from "./validate";

/** Options every widget accepts. */
export interface CommonOptions {
  /** Figure title (plotly title of the whole figure). */
  title?: string;
  /** A caption shown under the figure, e.g. "Example data" or the layer convention used. */
  caption?: string;
  /** Pixel size of the figure; the width defaults to the output area's width, the height to a per-widget value. */
  width?: number;
  height?: number;
}

export const COMMON_KEYS = ["kind", "title", "caption", "width", "height"] as const;

export function checkCommon(c: Checker, o: Record<string, unknown>): void {
  c.optional(o, "title", (v) => c.string(v, "title"));
  c.optional(o, "caption", (v) => c.string(v, "caption"));
  c.optional(o, "width", (v) => c.number(v, "width", { min: 120, max: 4000 }));
  c.optional(o, "height", (v) => c.number(v, "height", { min: 120, max: 4000 }));
}

/** Line dash styles (plotly names). */
export type Dash = "solid" | "dash" | "dot" | "dashdot";
export const DASHES: readonly Dash[] = ["solid", "dash", "dot", "dashdot"];

/** One line with an optional ± band, used by the line-with-band widgets. */
export interface BandSeries {
  /** Legend name, e.g. 'Δ"left"'. Series with the same name in several panels share one legend entry. */
  name: string;
  /** Mean value per x position. null / NaN leave a gap. */
  mean: (number | null)[];
  /** Half-width of the band (e.g. one standard deviation) per x position; no band when omitted. */
  std?: (number | null)[];
  color?: string;
  dash?: Dash;
}

export function checkBandSeries(c: Checker, v: unknown, path: string, length: number): void {
  const s = c.object(v, path);
  if (!s) return;
  c.keys(s, path, ["name", "mean", "std", "color", "dash"]);
  c.string(s.name, `${path}.name`, { nonEmpty: true });
  c.numbers(s.mean, `${path}.mean`, { length, allowNaN: true });
  c.optional(s, "std", (x) => c.numbers(x, `${path}.std`, { length, allowNaN: true, nonNegative: true }));
  c.optional(s, "color", (x) => c.color(x, `${path}.color`));
  c.optional(s, "dash", (x) => c.oneOf(x, `${path}.dash`, DASHES));
}

/** A grid cell: column 0 = leftmost, row 0 = top (the paper's (x, y) convention, reference-code-spec §0.2). */
export interface Cell {
  column: number;
  row: number;
}

export function checkCell(c: Checker, v: unknown, path: string, grid: GridSize, extraKeys: readonly string[] = []): void {
  const o = c.object(v, path);
  if (!o) return;
  c.keys(o, path, ["column", "row", ...extraKeys]);
  c.number(o.column, `${path}.column`, { integer: true, min: 0, max: grid.columns - 1 });
  c.number(o.row, `${path}.row`, { integer: true, min: 0, max: grid.rows - 1 });
}

export interface GridSize {
  columns: number;
  rows: number;
}

export const DEFAULT_GRID: GridSize = { columns: 4, rows: 4 };

export function checkGrid(c: Checker, v: unknown, path: string): GridSize {
  if (v === undefined) return DEFAULT_GRID;
  const o = c.object(v, path);
  if (!o) return DEFAULT_GRID;
  c.keys(o, path, ["columns", "rows"]);
  const okC = c.number(o.columns, `${path}.columns`, { integer: true, min: 1, max: 32 });
  const okR = c.number(o.rows, `${path}.rows`, { integer: true, min: 1, max: 32 });
  return okC && okR ? { columns: o.columns as number, rows: o.rows as number } : DEFAULT_GRID;
}

/** "(2, 1)" — how cells are written in labels and summaries. */
export function cellLabel(cell: Cell): string {
  return `(${cell.column}, ${cell.row})`;
}

export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return Number(x.toFixed(digits)).toString();
}
