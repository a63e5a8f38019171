// Building blocks shared by the renderers: the widget frame (container, plot area, caption), panel layouts,
// mean ± band traces and the reference line. Renderers are plain functions from a validated spec to DOM + plotly.
import Plotly from "plotly.js-dist-min";
import { BandSeries, WidgetSpec, defaultHeight, seriesColor } from "../../spec/index";

export type Trace = Plotly.Trace;
export type Layout = Plotly.Layout;

/** What a renderer leaves behind: the host can resize or dispose it. */
export interface RenderedWidget {
  resize(): void;
  dispose(): void;
}

export const PLOT_CONFIG: Plotly.Config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

const FONT = { family: "Helvetica, Arial, sans-serif", size: 12, color: "#222" };

export interface Frame {
  root: HTMLDivElement;
  plot: HTMLDivElement;
  /** Extra controls (sliders, image) go here, below or beside the plot. */
  controls: HTMLDivElement;
}

/** Creates the widget's DOM: div.linmech-widget[data-kind] > (div.linmech-body > div.linmech-plot + controls) + caption. */
export function makeFrame(host: HTMLElement, spec: WidgetSpec): Frame {
  const root = document.createElement("div");
  root.className = `linmech-widget linmech-${spec.kind}`;
  root.dataset.kind = spec.kind;
  if (spec.width) root.style.width = `${spec.width}px`;
  const body = document.createElement("div");
  body.className = "linmech-body";
  const plot = document.createElement("div");
  plot.className = "linmech-plot";
  plot.style.height = `${spec.height ?? defaultHeight(spec.kind)}px`;
  const controls = document.createElement("div");
  controls.className = "linmech-controls";
  body.append(plot, controls);
  root.append(body);
  if (spec.caption) {
    const cap = document.createElement("div");
    cap.className = "linmech-caption";
    cap.textContent = spec.caption;
    root.append(cap);
  }
  host.append(root);
  return { root, plot, controls };
}

export function baseLayout(title: string | undefined, extra: Layout = {}): Layout {
  return {
    title: title ? { text: title, x: 0.5, xanchor: "center", font: { size: 15 } } : undefined,
    font: FONT,
    margin: { l: 60, r: 20, t: title ? 70 : 40, b: 90 },
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    // The legend sits at the bottom edge of the figure (container coordinates), below the axis titles: placed in
    // paper coordinates it overlapped the middle panel's x-axis title in the multi-panel widgets.
    legend: { orientation: "h", x: 0.5, xanchor: "center", yref: "container", y: 0.01, yanchor: "bottom" },
    hovermode: "closest",
    ...extra,
  };
}

export function axisStyle(extra: Layout = {}): Layout {
  return { showline: true, linecolor: "#444", ticks: "outside", gridcolor: "#e8e8e8", zeroline: false, automargin: true, ...extra };
}

export interface PanelGeometry {
  /** Axis names for traces ("x", "x2", ...) and layout keys ("xaxis", "xaxis2", ...). */
  xName: string;
  yName: string;
  xKey: string;
  yKey: string;
  xDomain: [number, number];
  yDomain: [number, number];
}

/** Lays out n panels in a grid of `columns` columns (row 0 at the top) with small gaps. */
export function panelGrid(n: number, columns: number, gapX = 0.07, gapY = 0.16): PanelGeometry[] {
  const cols = Math.max(1, Math.min(columns, n));
  const rows = Math.ceil(n / cols);
  const w = (1 - gapX * (cols - 1)) / cols;
  const h = (1 - gapY * (rows - 1)) / rows;
  return Array.from({ length: n }, (_, i) => {
    const col = i % cols, row = Math.floor(i / cols);
    const suffix = i === 0 ? "" : String(i + 1);
    const x0 = col * (w + gapX), y1 = 1 - row * (h + gapY);
    return {
      xName: `x${suffix}`, yName: `y${suffix}`, xKey: `xaxis${suffix}`, yKey: `yaxis${suffix}`,
      xDomain: [x0, Math.min(1, x0 + w)] as [number, number],
      yDomain: [Math.max(0, y1 - h), y1] as [number, number],
    };
  });
}

/** A panel title as an annotation above the panel's domain. */
export function panelTitle(g: PanelGeometry, text: string): Layout {
  return {
    text, showarrow: false, xref: "paper", yref: "paper", x: (g.xDomain[0] + g.xDomain[1]) / 2, y: g.yDomain[1],
    xanchor: "center", yanchor: "bottom", yshift: 6, font: { size: 13 },
  };
}

/** A dashed horizontal line across one panel at y = value. */
export function referenceLine(g: PanelGeometry, value: number): Layout {
  return {
    type: "line", xref: `${g.xName} domain`, x0: 0, x1: 1, yref: g.yName, y0: value, y1: value,
    line: { color: "#666", width: 1, dash: "dash" }, layer: "below",
  };
}

/**
 * A mean line and its ± band for one series in one panel. Series with the same name share a legend group, so one
 * legend click hides the series (line and band) in every panel; only the first panel shows the legend entry.
 */
export function bandTraces(x: (number | string)[], s: BandSeries, index: number, g: PanelGeometry, showLegend: boolean): Trace[] {
  const color = s.color ?? seriesColor(index);
  const out: Trace[] = [];
  if (s.std) {
    const keep = x.map((_, i) => i).filter((i) => isNum(s.mean[i]) && isNum(s.std?.[i]));
    const upper = keep.map((i) => (s.mean[i] as number) + (s.std?.[i] as number));
    const lower = keep.map((i) => (s.mean[i] as number) - (s.std?.[i] as number));
    out.push({
      type: "scatter", mode: "lines", x: [...keep.map((i) => x[i]), ...keep.map((i) => x[i]).reverse()],
      y: [...upper, ...lower.reverse()], fill: "toself", fillcolor: color, opacity: 0.25, line: { width: 0 },
      hoverinfo: "skip", showlegend: false, legendgroup: s.name, name: `${s.name} ± band`, xaxis: g.xName, yaxis: g.yName,
    });
  }
  out.push({
    type: "scatter", mode: "lines+markers", x, y: s.mean.map((m) => (isNum(m) ? m : null)), name: s.name,
    legendgroup: s.name, showlegend: showLegend, line: { color, width: 2, dash: s.dash ?? "solid" }, marker: { size: 4, color },
    xaxis: g.xName, yaxis: g.yName,
    customdata: s.std ? s.std.map((v) => (isNum(v) ? v : null)) : undefined,
    hovertemplate: s.std ? `${escapeText(s.name)}: %{y:.3f} ± %{customdata:.3f}<extra>%{x}</extra>` : `${escapeText(s.name)}: %{y:.3f}<extra>%{x}</extra>`,
  });
  return out;
}

export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Plotly renders a few HTML-like tags in text; escape user strings so they show literally. */
export function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Draws the figure and returns the standard handle. */
export async function draw(frame: Frame, traces: Trace[], layout: Layout, extraDispose?: () => void): Promise<RenderedWidget> {
  await Plotly.newPlot(frame.plot, traces, layout, PLOT_CONFIG);
  return {
    resize: () => {
      if (frame.plot.isConnected && frame.plot.offsetWidth > 0) void Plotly.Plots.resize(frame.plot);
    },
    dispose: () => {
      extraDispose?.();
      Plotly.purge(frame.plot);
      frame.root.remove();
    },
  };
}
