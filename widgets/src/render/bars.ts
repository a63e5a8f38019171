// Renderer: grouped bars with error bars (horizontal by default, categories top to bottom).
import { BarsSpec, seriesColor } from "../../spec/index";
import { RenderedWidget, Trace, axisStyle, baseLayout, draw, isNum, makeFrame } from "./common";

const PALE = ["skyblue", "peachpuff", "#b5e3b5", "#d9c2e9", "#f4b6b6"];

export function renderBars(host: HTMLElement, spec: BarsSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const horizontal = (spec.orientation ?? "h") === "h";
  const k = spec.percent ? 100 : 1;
  const traces: Trace[] = spec.series.map((s, i) => {
    const values = s.values.map((v) => (isNum(v) ? v * k : null));
    const err = s.errors ? { type: "data", array: s.errors.map((e) => (isNum(e) ? e * k : 0)), visible: true, color: "#333", thickness: 1.2, width: 4 } : undefined;
    const color = s.color ?? (spec.series.length <= PALE.length ? PALE[i] : seriesColor(i));
    const fmtv = spec.percent ? "%{VALUE:.1f}%" : "%{VALUE:.3f}";
    return {
      type: "bar", name: s.name, orientation: horizontal ? "h" : "v",
      x: horizontal ? values : spec.categories, y: horizontal ? spec.categories : values,
      error_x: horizontal ? err : undefined, error_y: horizontal ? undefined : err,
      marker: { color, line: { color: "#555", width: 0.6 } },
      hovertemplate: `${s.name}: ${fmtv.replace("VALUE", horizontal ? "x" : "y")}<extra>%{${horizontal ? "y" : "x"}}</extra>`,
    };
  });
  const valueAxis = axisStyle({
    title: { text: spec.valueLabel ?? "" }, range: spec.valueRange ? spec.valueRange.map((v) => v * k) : undefined,
    ticksuffix: spec.percent ? "%" : "", zeroline: true, zerolinecolor: "#444",
  });
  const catAxis = axisStyle({ type: "category", autorange: horizontal ? "reversed" : true, showgrid: false });
  const layout = baseLayout(spec.title, {
    barmode: "group", bargap: 0.25, bargroupgap: 0.05,
    xaxis: horizontal ? valueAxis : catAxis, yaxis: horizontal ? catAxis : valueAxis,
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
  });
  return draw(frame, traces, layout);
}
