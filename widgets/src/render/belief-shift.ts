// Renderer: belief-shift curves (lines vs layer with mean ± std bands, several panels sharing the y axis).
import { BeliefShiftSpec } from "../../spec/index";
import { Layout, RenderedWidget, Trace, axisStyle, bandTraces, baseLayout, draw, makeFrame, panelGrid, panelTitle, referenceLine } from "./common";

export function renderBeliefShift(host: HTMLElement, spec: BeliefShiftSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const grid = panelGrid(spec.panels.length, spec.columns ?? spec.panels.length);
  const traces: Trace[] = [];
  const annotations: Layout[] = [];
  const shapes: Layout[] = [];
  const layout = baseLayout(spec.title, { annotations, shapes });
  const ref = spec.referenceLine === undefined ? 0 : spec.referenceLine;
  spec.panels.forEach((panel, p) => {
    const g = grid[p];
    panel.series.forEach((s, i) => traces.push(...bandTraces(spec.layers, s, i, g, p === 0)));
    annotations.push(panelTitle(g, panel.title));
    if (ref !== null) shapes.push(referenceLine(g, ref));
    const lastRow = p + (spec.columns ?? spec.panels.length) >= spec.panels.length;
    layout[g.xKey] = axisStyle({ domain: g.xDomain, anchor: g.yName, title: lastRow ? { text: spec.xLabel ?? "Layer" } : undefined });
    layout[g.yKey] = axisStyle({
      domain: g.yDomain, anchor: g.xName,
      title: g.xDomain[0] === 0 ? { text: spec.yLabel ?? "Belief shift" } : undefined,
      range: spec.yRange, autorange: spec.yRange ? false : true,
      matches: p === 0 ? undefined : "y",
    });
  });
  return draw(frame, traces, layout);
}
