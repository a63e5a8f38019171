// Error-bar scatter with dashed lines joining points of the same family (the paper's Fig 9: baseline accuracy vs
// steerability per model, models of one family joined).
import { Checker } from "./validate";
import { COMMON_KEYS, CommonOptions, checkCommon, fmt } from "./common";

export interface ScatterPoint {
  /** Legend name, e.g. "llava-7b". */
  name: string;
  x: number;
  y: number;
  xError?: number;
  yError?: number;
  /** Points with the same family are joined by a dashed line, sorted by x. */
  family?: string;
  color?: string;
}

export interface ErrorScatterSpec extends CommonOptions {
  kind: "error-scatter";
  points: ScatterPoint[];
  xLabel?: string;
  yLabel?: string;
  /** Join families with dashed lines (default true). */
  familyLines?: boolean;
}

export function checkErrorScatter(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "points", "xLabel", "yLabel", "familyLines"]);
  checkCommon(c, o);
  c.array(o.points, "points", { min: 1 })?.forEach((p, i) => {
    const po = c.object(p, `points[${i}]`);
    if (!po) return;
    c.keys(po, `points[${i}]`, ["name", "x", "y", "xError", "yError", "family", "color"]);
    c.string(po.name, `points[${i}].name`, { nonEmpty: true });
    c.number(po.x, `points[${i}].x`);
    c.number(po.y, `points[${i}].y`);
    c.optional(po, "xError", (v) => c.number(v, `points[${i}].xError`, { min: 0 }));
    c.optional(po, "yError", (v) => c.number(v, `points[${i}].yError`, { min: 0 }));
    c.optional(po, "family", (v) => c.string(v, `points[${i}].family`, { nonEmpty: true }));
    c.optional(po, "color", (v) => c.color(v, `points[${i}].color`));
  });
  c.optional(o, "xLabel", (v) => c.string(v, "xLabel"));
  c.optional(o, "yLabel", (v) => c.string(v, "yLabel"));
  c.optional(o, "familyLines", (v) => c.boolean(v, "familyLines"));
}

export function summarizeErrorScatter(s: ErrorScatterSpec): string {
  return [
    `${s.title ?? "Scatter"} — ${s.points.length} points`,
    ...s.points.map((p) => `  ${p.name}${p.family ? ` [${p.family}]` : ""}: x ${fmt(p.x)}${p.xError !== undefined ? ` ± ${fmt(p.xError)}` : ""}, y ${fmt(p.y)}${p.yError !== undefined ? ` ± ${fmt(p.yError)}` : ""}`),
  ].join("\n");
}
