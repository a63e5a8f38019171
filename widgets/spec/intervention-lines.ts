// Line-with-band vs intervention cell, split by ground truth: the change in answer log-probs when a subject is
// steered toward each cell, one panel per ground-truth group (the paper's Fig 6b–d, Fig 7, Fig 10c).
import { Checker } from "./validate";
import { BandSeries, COMMON_KEYS, CommonOptions, checkBandSeries, checkCommon, fmt } from "./common";

export interface InterventionPanel {
  /** Panel title, e.g. 'Ground truth: "left" (layer 12)'. */
  title: string;
  series: BandSeries[];
}

export interface InterventionLinesSpec extends CommonOptions {
  kind: "intervention-lines";
  /** The intervention on the x axis, in order, e.g. ["(0, 0)", "(1, 0)", "(2, 0)", "(3, 0)"] or frames "1"…"7". */
  interventions: string[];
  panels: InterventionPanel[];
  /** Axis titles; defaults "Intervention ID on subject" and "Change in log prob". */
  xLabel?: string;
  yLabel?: string;
  yRange?: [number, number];
  /** Dashed horizontal reference line (default 0; null for none). */
  referenceLine?: number | null;
  /** Panels per row (default 2). */
  columns?: number;
}

export function checkInterventionLines(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "interventions", "panels", "xLabel", "yLabel", "yRange", "referenceLine", "columns"]);
  checkCommon(c, o);
  const xs = c.array(o.interventions, "interventions", { min: 1 });
  xs?.forEach((x, i) => c.string(x, `interventions[${i}]`, { nonEmpty: true }));
  const n = xs?.length ?? 0;
  c.array(o.panels, "panels", { min: 1 })?.forEach((p, i) => {
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

export function summarizeInterventionLines(s: InterventionLinesSpec): string {
  const lines = [`${s.title ?? "Steering effect"} — ${s.panels.length} panel(s) over ${s.interventions.length} interventions`];
  for (const p of s.panels) {
    const parts = p.series.map(
      (ser) => `${ser.name} ${fmt(ser.mean[0])} at ${s.interventions[0]} → ${fmt(ser.mean[ser.mean.length - 1])} at ${s.interventions[s.interventions.length - 1]}`,
    );
    lines.push(`  ${p.title}: ${parts.join("; ")}`);
  }
  return lines.join("\n");
}
