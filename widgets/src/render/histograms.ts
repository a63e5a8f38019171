// Renderer: overlaid density histograms, one panel per condition; bins shared within a panel (binGroups).
import { HistogramsSpec, binGroups, seriesColor } from "../../spec/index";
import { Layout, RenderedWidget, Trace, axisStyle, baseLayout, draw, makeFrame, panelGrid, panelTitle } from "./common";

const GROUP_COLORS = ["steelblue", "salmon"];

export function renderHistograms(host: HTMLElement, spec: HistogramsSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const grid = panelGrid(spec.panels.length, spec.panels.length, 0.08);
  const density = spec.density !== false;
  const traces: Trace[] = [];
  const annotations: Layout[] = [];
  const layout = baseLayout(spec.title, { annotations, barmode: "overlay", bargap: 0 });
  spec.panels.forEach((panel, p) => {
    const g = grid[p];
    const { edges, heights } = binGroups(panel.groups, panel.bins ?? 10, density);
    const centres = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);
    const width = edges[1] - edges[0];
    panel.groups.forEach((grp, i) => {
      const color = grp.color ?? (i < GROUP_COLORS.length ? GROUP_COLORS[i] : seriesColor(i));
      traces.push({
        type: "bar", name: grp.name, legendgroup: grp.name, showlegend: p === 0, x: centres, y: heights[i], width,
        opacity: grp.opacity ?? 0.6, marker: { color, line: { color: "#333", width: 0.5 } }, xaxis: g.xName, yaxis: g.yName,
        customdata: edges.slice(0, -1).map((e, j) => [e, edges[j + 1]]),
        hovertemplate: `${grp.name} (n=${grp.values.length})<br>[%{customdata[0]:.3f}, %{customdata[1]:.3f}): %{y:.3f}<extra></extra>`,
      });
    });
    if (panel.title) annotations.push(panelTitle(g, panel.title));
    if (panel.annotation) {
      annotations.push({
        text: panel.annotation, showarrow: false, xref: `${g.xName} domain`, yref: `${g.yName} domain`, x: 0.98, y: 0.98,
        xanchor: "right", yanchor: "top", font: { size: 11, color: "#333" }, bgcolor: "rgba(255,255,255,0.8)",
      });
    }
    layout[g.xKey] = axisStyle({ domain: g.xDomain, anchor: g.yName, title: { text: panel.xLabel ?? "" } });
    layout[g.yKey] = axisStyle({ domain: g.yDomain, anchor: g.xName, title: p === 0 ? { text: spec.yLabel ?? (density ? "Density" : "Count") } : undefined });
  });
  return draw(frame, traces, layout);
}
