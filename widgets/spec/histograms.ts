// Overlaid density histograms, one panel per model or condition (the paper's Fig 8a/8b: margins of correct vs
// wrong answers). Bins are shared by all groups of a panel, so the overlaid bars are comparable.
import { Checker } from "./validate";
import { COMMON_KEYS, CommonOptions, checkCommon, fmt } from "./common";

export interface HistogramGroup {
  /** Legend name, e.g. "Correct". */
  name: string;
  /** Raw samples; non-finite values are rejected. */
  values: number[];
  color?: string;
  /** Bar opacity 0..1 (default 0.6). */
  opacity?: number;
}

export interface HistogramPanel {
  title?: string;
  groups: HistogramGroup[];
  /** Number of equal-width bins over the panel's range (default 10). */
  bins?: number;
  xLabel?: string;
  /** A note drawn in the panel's corner, e.g. a Mann–Whitney U p-value. */
  annotation?: string;
}

export interface HistogramsSpec extends CommonOptions {
  kind: "histograms";
  panels: HistogramPanel[];
  /** Normalise each group to a density (area 1; default true) or show counts. */
  density?: boolean;
  yLabel?: string;
}

export function checkHistograms(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "panels", "density", "yLabel"]);
  checkCommon(c, o);
  c.array(o.panels, "panels", { min: 1 })?.forEach((p, i) => {
    const path = `panels[${i}]`;
    const po = c.object(p, path);
    if (!po) return;
    c.keys(po, path, ["title", "groups", "bins", "xLabel", "annotation"]);
    c.optional(po, "title", (v) => c.string(v, `${path}.title`));
    c.optional(po, "xLabel", (v) => c.string(v, `${path}.xLabel`));
    c.optional(po, "annotation", (v) => c.string(v, `${path}.annotation`));
    c.optional(po, "bins", (v) => c.number(v, `${path}.bins`, { integer: true, min: 1, max: 500 }));
    let total = 0;
    c.array(po.groups, `${path}.groups`, { min: 1 })?.forEach((g, j) => {
      const gp = `${path}.groups[${j}]`;
      const go = c.object(g, gp);
      if (!go) return;
      c.keys(go, gp, ["name", "values", "color", "opacity"]);
      c.string(go.name, `${gp}.name`, { nonEmpty: true });
      c.numbers(go.values, `${gp}.values`);
      if (Array.isArray(go.values)) total += go.values.length;
      c.optional(go, "color", (v) => c.color(v, `${gp}.color`));
      c.optional(go, "opacity", (v) => c.number(v, `${gp}.opacity`, { min: 0, max: 1 }));
    });
    if (Array.isArray(po.groups) && total === 0) c.fail(`${path}.groups`, "every group is empty: nothing to draw");
  });
  c.optional(o, "density", (v) => c.boolean(v, "density"));
  c.optional(o, "yLabel", (v) => c.string(v, "yLabel"));
}

export interface Binned {
  /** Bin edges (bins + 1 values). */
  edges: number[];
  /** Per group: count or density per bin. */
  heights: number[][];
}

/** Shared equal-width bins over all groups' values; density = count / (n · width) so each group integrates to 1. */
export function binGroups(groups: { values: number[] }[], bins: number, density: boolean): Binned {
  const all = groups.flatMap((g) => g.values);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const heights = groups.map((g) => {
    const h = new Array<number>(bins).fill(0);
    for (const v of g.values) h[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    return density && g.values.length > 0 ? h.map((x) => x / (g.values.length * width)) : h;
  });
  return { edges, heights };
}

export function summarizeHistograms(s: HistogramsSpec): string {
  const lines = [`${s.title ?? "Histograms"} — ${s.panels.length} panel(s)`];
  for (const p of s.panels) {
    const parts = p.groups.map((g) => {
      const m = g.values.reduce((a, b) => a + b, 0) / Math.max(1, g.values.length);
      return `${g.name} n=${g.values.length} mean ${fmt(m)}`;
    });
    lines.push(`  ${p.title ?? "panel"}: ${parts.join("; ")}${p.annotation ? ` (${p.annotation})` : ""}`);
  }
  return lines.join("\n");
}
