// Renderer: line-with-band vs intervention cell, one panel per ground-truth group.
import { InterventionLinesSpec } from "../../spec/index";
import { Layout, RenderedWidget, Trace, axisStyle, bandTraces, baseLayout, draw, makeFrame, panelGrid, panelTitle, referenceLine } from "./common";

export function renderInterventionLines(host: HTMLElement, spec: InterventionLinesSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const columns = spec.columns ?? 2;
  const grid = panelGrid(spec.panels.length, columns);
  const rows = Math.ceil(spec.panels.length / Math.min(columns, spec.panels.length));
  if (spec.height === undefined && rows > 1) frame.plot.style.height = `${80 + rows * 280}px`;
  const traces: Trace[] = [];
  const annotations: Layout[] = [];
  const shapes: Layout[] = [];
  const layout = baseLayout(spec.title, { annotations, shapes });
  const ref = spec.referenceLine === undefined ? 0 : spec.referenceLine;
  spec.panels.forEach((panel, p) => {
    const g = grid[p];
    panel.series.forEach((s, i) => traces.push(...bandTraces(spec.interventions, s, i, g, p === 0)));
    annotations.push(panelTitle(g, panel.title));
    if (ref !== null) shapes.push(referenceLine(g, ref));
    layout[g.xKey] = axisStyle({
      domain: g.xDomain, anchor: g.yName, type: "category", categoryorder: "array", categoryarray: spec.interventions,
      title: p + columns >= spec.panels.length ? { text: spec.xLabel ?? "Intervention ID on subject" } : undefined,
    });
    layout[g.yKey] = axisStyle({
      domain: g.yDomain, anchor: g.xName, title: g.xDomain[0] === 0 ? { text: spec.yLabel ?? "Change in log prob" } : undefined,
      range: spec.yRange, autorange: spec.yRange ? false : true,
    });
  });
  return draw(frame, traces, layout);
}
