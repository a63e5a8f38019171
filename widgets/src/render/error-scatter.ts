// Renderer: error-bar scatter with one legend entry per point and dashed lines joining each family (sorted by x).
import { ErrorScatterSpec, rainbowColor } from "../../spec/index";
import { RenderedWidget, Trace, axisStyle, baseLayout, draw, makeFrame } from "./common";

export function renderErrorScatter(host: HTMLElement, spec: ErrorScatterSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const colors = spec.points.map((p, i) => p.color ?? rainbowColor(i, spec.points.length));
  const traces: Trace[] = [];
  if (spec.familyLines !== false) {
    const families = [...new Set(spec.points.map((p) => p.family).filter((f): f is string => f !== undefined))];
    for (const fam of families) {
      const members = spec.points.map((p, i) => ({ p, c: colors[i] })).filter((m) => m.p.family === fam).sort((a, b) => a.p.x - b.p.x);
      if (members.length < 2) continue;
      traces.push({
        type: "scatter", mode: "lines", name: `${fam} family`, showlegend: false, hoverinfo: "skip",
        x: members.map((m) => m.p.x), y: members.map((m) => m.p.y), line: { color: "#888", dash: "dash", width: 1.2 },
      });
    }
  }
  spec.points.forEach((p, i) => {
    traces.push({
      type: "scatter", mode: "markers", name: p.name, x: [p.x], y: [p.y],
      marker: { size: 10, color: colors[i], line: { color: "#333", width: 0.6 } },
      error_x: p.xError !== undefined ? { type: "data", array: [p.xError], visible: true, color: colors[i] } : undefined,
      error_y: p.yError !== undefined ? { type: "data", array: [p.yError], visible: true, color: colors[i] } : undefined,
      hovertemplate: `${p.name}${p.family ? ` (${p.family})` : ""}<br>x %{x:.3f}, y %{y:.3f}<extra></extra>`,
    });
  });
  const layout = baseLayout(spec.title, {
    xaxis: axisStyle({ title: { text: spec.xLabel ?? "" }, showgrid: true }),
    yaxis: axisStyle({ title: { text: spec.yLabel ?? "" }, showgrid: true }),
    legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top" },
  });
  return draw(frame, traces, layout);
}
