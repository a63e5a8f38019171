// The small part of plotly.js that the renderers use (plotly.js-dist-min ships no types).
declare module "plotly.js-dist-min" {
  namespace Plotly {
    type Trace = Record<string, unknown>;
    type Layout = Record<string, unknown>;
    type Config = Record<string, unknown>;
    interface PlotlyElement extends HTMLDivElement {
      data: Trace[];
      layout: Layout;
      on(event: string, handler: (event: unknown) => void): void;
    }
    function newPlot(root: HTMLElement, data: Trace[], layout?: Layout, config?: Config): Promise<PlotlyElement>;
    function react(root: HTMLElement, data: Trace[], layout?: Layout, config?: Config): Promise<PlotlyElement>;
    function purge(root: HTMLElement): void;
    const Plots: { resize(root: HTMLElement): Promise<void> };
  }
  export = Plotly;
}
