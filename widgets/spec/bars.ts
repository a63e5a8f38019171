// Grouped bars with error bars (the paper's Fig 2: % belief swapped per model, spatial ID vs noise steering).
import { Checker } from "./validate";
import { COMMON_KEYS, CommonOptions, checkCommon, fmt } from "./common";

export interface BarSeries {
  /** Legend name, e.g. "Spatial ID". */
  name: string;
  /** One value per category. */
  values: number[];
  /** Error-bar half-widths (e.g. std), one per category. */
  errors?: number[];
  color?: string;
}

export interface BarsSpec extends CommonOptions {
  kind: "bars";
  /** Category labels, e.g. model names; drawn top to bottom for horizontal bars. */
  categories: string[];
  series: BarSeries[];
  /** "h" = horizontal bars (default, as Fig 2), "v" = vertical. */
  orientation?: "h" | "v";
  /** Title of the value axis, e.g. "% belief swapped". */
  valueLabel?: string;
  valueRange?: [number, number];
  /** Values are fractions 0..1 shown as percentages (default false). */
  percent?: boolean;
}

export function checkBars(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "categories", "series", "orientation", "valueLabel", "valueRange", "percent"]);
  checkCommon(c, o);
  const cats = c.array(o.categories, "categories", { min: 1 });
  cats?.forEach((x, i) => c.string(x, `categories[${i}]`));
  const n = cats?.length ?? 0;
  c.array(o.series, "series", { min: 1 })?.forEach((s, i) => {
    const so = c.object(s, `series[${i}]`);
    if (!so) return;
    c.keys(so, `series[${i}]`, ["name", "values", "errors", "color"]);
    c.string(so.name, `series[${i}].name`, { nonEmpty: true });
    c.numbers(so.values, `series[${i}].values`, { length: n, allowNaN: true });
    c.optional(so, "errors", (v) => c.numbers(v, `series[${i}].errors`, { length: n, allowNaN: true, nonNegative: true }));
    c.optional(so, "color", (v) => c.color(v, `series[${i}].color`));
  });
  c.optional(o, "orientation", (v) => c.oneOf(v, "orientation", ["h", "v"] as const));
  c.optional(o, "valueLabel", (v) => c.string(v, "valueLabel"));
  c.optional(o, "valueRange", (v) => c.range(v, "valueRange"));
  c.optional(o, "percent", (v) => c.boolean(v, "percent"));
}

export function summarizeBars(s: BarsSpec): string {
  const f = (x: number): string => (s.percent ? `${fmt(100 * x, 1)}%` : fmt(x));
  const lines = [`${s.title ?? "Bars"} — ${s.categories.length} categories × ${s.series.length} series`];
  s.categories.forEach((cat, i) => {
    lines.push(`  ${cat}: ` + s.series.map((ser) => `${ser.name} ${f(ser.values[i])}${ser.errors ? ` ± ${f(ser.errors[i])}` : ""}`).join(", "));
  });
  return lines.join("\n");
}
