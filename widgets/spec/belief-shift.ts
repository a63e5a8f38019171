// Belief-shift curves: one or more lines vs layer with mean ± std bands, in one or more panels that share the y
// axis (the paper's Fig 4 mirror/attribute swapping and Fig 10a temporal swapping; Fig 6a without bands).
import { Checker } from "./validate";
import { BandSeries, COMMON_KEYS, CommonOptions, checkBandSeries, checkCommon, fmt } from "./common";

export interface BeliefShiftPanel {
  /** Panel title, e.g. "Swapped image tokens". */
  title: string;
  series: BandSeries[];
}

export interface BeliefShiftSpec extends CommonOptions {
  kind: "belief-shift";
  /** x positions shared by every series (usually layer indices; state the layer convention in `caption`). */
  layers: number[];
  panels: BeliefShiftPanel[];
  /** Axis titles; defaults "Layer" and "Belief shift". */
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range, e.g. [-0.5, 1.1]; otherwise plotly's autorange. */
  yRange?: [number, number];
  /** A dashed horizontal reference line (default 0; null for none). */
  referenceLine?: number | null;
  /** Panels per row (default: all panels in one row). */
  columns?: number;
}

export function checkBeliefShift(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "layers", "panels", "xLabel", "yLabel", "yRange", "referenceLine", "columns"]);
  checkCommon(c, o);
  c.numbers(o.layers, "layers", { min: 1 });
  const n = Array.isArray(o.layers) ? o.layers.length : 0;
  const panels = c.array(o.panels, "panels", { min: 1 });
  panels?.forEach((p, i) => {
    const po = c.object(p, `panels[${i}]`);
    if (!po) return;
    c.keys(po, `panels[${i}]`, ["title", "series"]);
    c.string(po.title, `panels[${i}].title`);
    c.array(po.series, `panels[${i}].series`, { min: 1 })?.forEach((s, j) =>
      checkBandSeries(c, s, `panels[${i}].series[${j}]`, n),
    );
  });
  c.optional(o, "xLabel", (v) => c.string(v, "xLabel"));
  c.optional(o, "yLabel", (v) => c.string(v, "yLabel"));
  c.optional(o, "yRange", (v) => c.range(v, "yRange"));
  c.optional(o, "referenceLine", (v) => v === null || c.number(v, "referenceLine"));
  c.optional(o, "columns", (v) => c.number(v, "columns", { integer: true, min: 1, max: 12 }));
}

export function summarizeBeliefShift(s: BeliefShiftSpec): string {
  const lines = [`${s.title ?? "Belief shift"} — ${s.panels.length} panel(s), layers ${s.layers[0]}…${s.layers[s.layers.length - 1]}`];
  for (const p of s.panels) {
    const parts = p.series.map((ser) => {
      let best = -1;
      ser.mean.forEach((m, i) => {
        if (m !== null && !Number.isNaN(m) && (best < 0 || m > (ser.mean[best] as number))) best = i;
      });
      return best < 0 ? `${ser.name}: no data` : `${ser.name} peaks at ${fmt(ser.mean[best])} (layer ${s.layers[best]})`;
    });
    lines.push(`  ${p.title}: ${parts.join("; ")}`);
  }
  return lines.join("\n");
}
