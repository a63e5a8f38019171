// Steering explorer (teaching): the scene image with its grid drawn over it; clicking a cell shows what steering
// the subject toward that cell does to the answer log-probs at each layer, next to the unsteered baseline. All
// sweep results are precomputed and carried in the spec (tslab has no comm channel; interactivity is frontend-only).
import { Checker } from "./validate";
import { COMMON_KEYS, Cell, CommonOptions, GridSize, cellLabel, checkCell, checkCommon, checkGrid, fmt } from "./common";

export interface SteeringCellResult extends Cell {
  /** logprobs[l][a] = log-prob of answers[a] when steering at layers[l] toward this cell. */
  logprobs: number[][];
}

export interface SteeringExplorerSpec extends CommonOptions {
  kind: "steering-explorer";
  /** The scene as a data URL (data:image/png;base64,... or data:image/jpeg;base64,...). */
  image: string;
  grid?: GridSize;
  /** The question asked, shown above the plot. */
  prompt?: string;
  /** Answer words whose log-probs are tracked, e.g. ["left", "right"]. */
  answers: string[];
  /** Layers at which the steering vector was added (x axis). */
  layers: number[];
  /** Unsteered log-prob of each answer (drawn as dashed lines). */
  baseline: number[];
  /** One entry per cell that was swept (cells without an entry cannot be clicked). */
  sweep: SteeringCellResult[];
  /** Where the subject really is (outlined in the grid). */
  subject?: Cell & { label?: string };
  /** Cell selected when the widget opens (default: the first swept cell). */
  initialCell?: Cell;
  yLabel?: string;
}

export function checkSteeringExplorer(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "image", "grid", "prompt", "answers", "layers", "baseline", "sweep", "subject", "initialCell", "yLabel"]);
  checkCommon(c, o);
  if (c.string(o.image, "image") && !/^data:image\/(png|jpeg|gif|webp|svg\+xml)(;base64)?,/.test(o.image as string)) {
    c.fail("image", "expected a data URL (data:image/png;base64,...)");
  }
  const grid = checkGrid(c, o.grid, "grid");
  c.optional(o, "prompt", (v) => c.string(v, "prompt"));
  const answers = c.array(o.answers, "answers", { min: 1 });
  answers?.forEach((a, i) => c.string(a, `answers[${i}]`, { nonEmpty: true }));
  const nA = answers?.length ?? 0;
  c.numbers(o.layers, "layers", { min: 1 });
  const nL = Array.isArray(o.layers) ? o.layers.length : 0;
  c.numbers(o.baseline, "baseline", { length: nA });
  const seen = new Set<string>();
  c.array(o.sweep, "sweep", { min: 1 })?.forEach((s, i) => {
    const p = `sweep[${i}]`;
    checkCell(c, s, p, grid, ["logprobs"]);
    if (typeof s !== "object" || s === null) return;
    const so = s as Record<string, unknown>;
    const key = `${so.column},${so.row}`;
    if (seen.has(key)) c.fail(p, `cell (${so.column}, ${so.row}) appears twice in the sweep`);
    seen.add(key);
    c.array(so.logprobs, `${p}.logprobs`, { length: nL })?.forEach((row, l) =>
      c.numbers(row, `${p}.logprobs[${l}]`, { length: nA, allowNaN: true }),
    );
  });
  c.optional(o, "subject", (v) => {
    checkCell(c, v, "subject", grid, ["label"]);
    const so = v as Record<string, unknown>;
    if (typeof so === "object" && so !== null) c.optional(so, "label", (x) => c.string(x, "subject.label"));
  });
  c.optional(o, "initialCell", (v) => {
    checkCell(c, v, "initialCell", grid);
    const io = v as Record<string, unknown>;
    if (typeof io === "object" && io !== null && !seen.has(`${io.column},${io.row}`)) {
      c.fail("initialCell", `cell (${io.column}, ${io.row}) has no entry in sweep`);
    }
  });
  c.optional(o, "yLabel", (v) => c.string(v, "yLabel"));
}

/** The sweep entry of a cell, or undefined. */
export function sweepAt(s: SteeringExplorerSpec, cell: Cell): SteeringCellResult | undefined {
  return s.sweep.find((e) => e.column === cell.column && e.row === cell.row);
}

export function summarizeSteeringExplorer(s: SteeringExplorerSpec): string {
  const lines = [
    `${s.title ?? "Steering explorer"} — ${s.sweep.length} cells × ${s.layers.length} layers; answers ${s.answers.join(", ")}`,
    `  baseline: ${s.answers.map((a, i) => `${a} ${fmt(s.baseline[i])}`).join(", ")}`,
  ];
  // The cell/layer that moves the first answer most, as a one-line teaser for text-only viewers.
  let best: { cell: Cell; layer: number; delta: number } | undefined;
  for (const e of s.sweep) {
    e.logprobs.forEach((row, l) => {
      const d = row[0] - s.baseline[0];
      if (!Number.isNaN(d) && (!best || Math.abs(d) > Math.abs(best.delta))) best = { cell: e, layer: s.layers[l], delta: d };
    });
  }
  if (best) lines.push(`  largest change of "${s.answers[0]}": ${fmt(best.delta)} when steering toward ${cellLabel(best.cell)} at layer ${best.layer}`);
  return lines.join("\n");
}
