// Renderer: ψ→Δ regression — R² vs rank and vs layer (with the shuffled-cells null as a grey band), and predicted
// vs actual cell positions (actual = filled circle, predicted = cross, joined by a thin line).
import { DEFAULT_GRID, PsiRegressionSpec, R2Curve, bivariateColor } from "../../spec/index";
import { Layout, RenderedWidget, Trace, axisStyle, baseLayout, draw, makeFrame, panelGrid, panelTitle } from "./common";

const FIT = "#1f77b4";
const NULL = "#7f7f7f";

function curveTraces(cv: R2Curve, xName: string, yName: string, first: boolean): Trace[] {
  const out: Trace[] = [];
  if (cv.nullMean) {
    const nm = cv.nullMean;
    if (cv.nullStd) {
      const sd = cv.nullStd;
      out.push({
        type: "scatter", mode: "lines", x: [...cv.x, ...cv.x.slice().reverse()],
        y: [...nm.map((m, i) => m + sd[i]), ...nm.map((m, i) => m - sd[i]).reverse()],
        fill: "toself", fillcolor: NULL, opacity: 0.2, line: { width: 0 }, hoverinfo: "skip", showlegend: false,
        legendgroup: "null", name: "null ± std", xaxis: xName, yaxis: yName,
      });
    }
    out.push({
      type: "scatter", mode: "lines+markers", x: cv.x, y: nm, name: "shuffled-cells null", legendgroup: "null", showlegend: first,
      line: { color: NULL, dash: "dash", width: 1.5 }, marker: { size: 5, color: NULL }, xaxis: xName, yaxis: yName,
      hovertemplate: "null R² %{y:.3f}<extra>%{x}</extra>",
    });
  }
  out.push({
    type: "scatter", mode: "lines+markers", x: cv.x, y: cv.r2, name: "fit R²", legendgroup: "fit", showlegend: first,
    line: { color: FIT, width: 2 }, marker: { size: 7, color: FIT }, xaxis: xName, yaxis: yName,
    hovertemplate: "R² %{y:.3f}<extra>%{x}</extra>",
  });
  if (cv.highlight !== undefined) {
    const i = cv.x.indexOf(cv.highlight);
    if (i >= 0) {
      out.push({
        type: "scatter", mode: "markers", x: [cv.x[i]], y: [cv.r2[i]], showlegend: false, hoverinfo: "skip", name: "highlight",
        marker: { size: 14, color: "rgba(0,0,0,0)", line: { color: "#d62728", width: 2 } }, xaxis: xName, yaxis: yName,
      });
    }
  }
  return out;
}

export function renderPsiRegression(host: HTMLElement, spec: PsiRegressionSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const panels: ("rank" | "layer" | "positions")[] = [];
  if (spec.byRank) panels.push("rank");
  if (spec.byLayer) panels.push("layer");
  if (spec.positions) panels.push("positions");
  const grid = panelGrid(panels.length, panels.length, 0.09);
  const traces: Trace[] = [];
  const annotations: Layout[] = [];
  const layout = baseLayout(spec.title, { annotations });
  let legendShown = false;
  panels.forEach((kind, p) => {
    const g = grid[p];
    const r2Axis = (): Layout => axisStyle({ domain: g.yDomain, anchor: g.xName, title: { text: "R²" }, range: [-0.05, 1.05] });
    if (kind === "rank" && spec.byRank) {
      traces.push(...curveTraces(spec.byRank, g.xName, g.yName, !legendShown));
      legendShown = true;
      annotations.push(panelTitle(g, "R² vs rank"));
      layout[g.xKey] = axisStyle({ domain: g.xDomain, anchor: g.yName, title: { text: "Rank" }, dtick: 1 });
      layout[g.yKey] = r2Axis();
    } else if (kind === "layer" && spec.byLayer) {
      traces.push(...curveTraces(spec.byLayer, g.xName, g.yName, !legendShown));
      legendShown = true;
      annotations.push(panelTitle(g, "R² vs layer"));
      layout[g.xKey] = axisStyle({ domain: g.xDomain, anchor: g.yName, title: { text: "Layer" } });
      layout[g.yKey] = r2Axis();
    } else if (kind === "positions" && spec.positions) {
      const pos = spec.positions;
      const rows = (spec.grid ?? DEFAULT_GRID).rows;
      const colors = pos.points.map((pt) => bivariateColor(pt.column, pt.row, rows));
      const labels = pos.points.map((pt) => `(${pt.column}, ${pt.row})`);
      traces.push({
        type: "scatter", mode: "lines", showlegend: false, hoverinfo: "skip", name: "error", xaxis: g.xName, yaxis: g.yName,
        x: pos.points.flatMap((pt) => [pt.actual[0], pt.predicted[0], null]),
        y: pos.points.flatMap((pt) => [pt.actual[1], pt.predicted[1], null]), line: { color: "#999", width: 1 },
      });
      traces.push({
        type: "scatter", mode: "markers", name: "actual", xaxis: g.xName, yaxis: g.yName, text: labels,
        x: pos.points.map((pt) => pt.actual[0]), y: pos.points.map((pt) => pt.actual[1]),
        marker: { size: 13, color: colors, line: { color: "#333", width: 0.5 } },
        hovertemplate: "actual %{text}<br>%{x:.3f}, %{y:.3f}<extra></extra>",
      });
      traces.push({
        type: "scatter", mode: "markers", name: "predicted", xaxis: g.xName, yaxis: g.yName, text: labels,
        x: pos.points.map((pt) => pt.predicted[0]), y: pos.points.map((pt) => pt.predicted[1]),
        marker: { size: 10, symbol: "x-thin", color: colors, line: { color: colors, width: 2 } },
        hovertemplate: "predicted %{text}<br>%{x:.3f}, %{y:.3f}<extra></extra>",
      });
      annotations.push(panelTitle(g, pos.title ?? "Predicted vs actual"));
      layout[g.xKey] = axisStyle({ domain: g.xDomain, anchor: g.yName, title: { text: pos.xLabel ?? "" } });
      layout[g.yKey] = axisStyle({
        domain: g.yDomain, anchor: g.xName, title: { text: pos.yLabel ?? "" },
        autorange: pos.invertY === false ? true : "reversed",
      });
    }
  });
  return draw(frame, traces, layout);
}
