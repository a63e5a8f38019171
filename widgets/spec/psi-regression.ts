// ψ→Δ regression: how well a low-rank linear map from a position encoding ψ(cell) predicts the spatial IDs
// Δ_L(cell). Up to three panels: R² vs rank, R² vs layer (each with a shuffled-cells null as mean ± std band),
// and predicted vs actual cell positions in a 2-D projection (arrows from actual to predicted).
import { Checker } from "./validate";
import { COMMON_KEYS, Cell, CommonOptions, GridSize, checkCell, checkCommon, checkGrid, fmt } from "./common";

export interface R2Curve {
  /** x positions: ranks (1, 2, 3, ...) or layer indices. */
  x: number[];
  /** R² of the fit at each x (1 − SS_res/SS_tot). */
  r2: number[];
  /** R² when the cells' ψ are shuffled (null model): mean and std over shuffles. */
  nullMean?: number[];
  nullStd?: number[];
  /** Marks one x (e.g. the rank used in the layer panel, or the layer used in the rank panel). */
  highlight?: number;
}

export interface CellPrediction extends Cell {
  /** Projected position of the actual ID and of the regression's prediction. */
  actual: [number, number];
  predicted: [number, number];
}

export interface PsiRegressionSpec extends CommonOptions {
  kind: "psi-regression";
  grid?: GridSize;
  byRank?: R2Curve;
  byLayer?: R2Curve;
  positions?: {
    title?: string;
    points: CellPrediction[];
    xLabel?: string;
    yLabel?: string;
    /** y axis downwards so row 0 is at the top (default true). */
    invertY?: boolean;
  };
}

function checkCurve(c: Checker, v: unknown, path: string): void {
  const o = c.object(v, path);
  if (!o) return;
  c.keys(o, path, ["x", "r2", "nullMean", "nullStd", "highlight"]);
  c.numbers(o.x, `${path}.x`, { min: 1 });
  const n = Array.isArray(o.x) ? o.x.length : 0;
  c.numbers(o.r2, `${path}.r2`, { length: n, allowNaN: true });
  c.optional(o, "nullMean", (x) => c.numbers(x, `${path}.nullMean`, { length: n, allowNaN: true }));
  c.optional(o, "nullStd", (x) => c.numbers(x, `${path}.nullStd`, { length: n, allowNaN: true, nonNegative: true }));
  if (o.nullStd !== undefined && o.nullMean === undefined) c.fail(`${path}.nullStd`, "given without nullMean");
  c.optional(o, "highlight", (x) => c.number(x, `${path}.highlight`));
}

export function checkPsiRegression(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "grid", "byRank", "byLayer", "positions"]);
  checkCommon(c, o);
  const grid = checkGrid(c, o.grid, "grid");
  if (o.byRank === undefined && o.byLayer === undefined && o.positions === undefined) {
    c.fail("", "give at least one of byRank, byLayer, positions");
  }
  c.optional(o, "byRank", (v) => checkCurve(c, v, "byRank"));
  c.optional(o, "byLayer", (v) => checkCurve(c, v, "byLayer"));
  c.optional(o, "positions", (v) => {
    const po = c.object(v, "positions");
    if (!po) return;
    c.keys(po, "positions", ["title", "points", "xLabel", "yLabel", "invertY"]);
    c.optional(po, "title", (x) => c.string(x, "positions.title"));
    c.optional(po, "xLabel", (x) => c.string(x, "positions.xLabel"));
    c.optional(po, "yLabel", (x) => c.string(x, "positions.yLabel"));
    c.optional(po, "invertY", (x) => c.boolean(x, "positions.invertY"));
    c.array(po.points, "positions.points", { min: 1 })?.forEach((p, i) => {
      checkCell(c, p, `positions.points[${i}]`, grid, ["actual", "predicted"]);
      if (typeof p === "object" && p !== null) {
        const pp = p as Record<string, unknown>;
        c.numbers(pp.actual, `positions.points[${i}].actual`, { length: 2 });
        c.numbers(pp.predicted, `positions.points[${i}].predicted`, { length: 2 });
      }
    });
  });
}

export function summarizePsiRegression(s: PsiRegressionSpec): string {
  const lines = [s.title ?? "ψ → Δ regression"];
  const curve = (name: string, cv: R2Curve): string => {
    let best = 0;
    cv.r2.forEach((r, i) => { if (r > cv.r2[best]) best = i; });
    const nul = cv.nullMean ? `; shuffled-cells null ≤ ${fmt(Math.max(...cv.nullMean.filter((x) => !Number.isNaN(x))))}` : "";
    return `  R² vs ${name}: best ${fmt(cv.r2[best])} at ${name} ${cv.x[best]}${nul}`;
  };
  if (s.byRank) lines.push(curve("rank", s.byRank));
  if (s.byLayer) lines.push(curve("layer", s.byLayer));
  if (s.positions) {
    const err = s.positions.points.map((p) => Math.hypot(p.actual[0] - p.predicted[0], p.actual[1] - p.predicted[1]));
    lines.push(`  ${s.positions.points.length} cells, mean |predicted − actual| = ${fmt(err.reduce((a, b) => a + b, 0) / err.length)}`);
  }
  return lines.join("\n");
}
