// Renderer: spatial-ID map — cells as points coloured by the bivariate grid colour map (one legend entry per
// column), text markers, "Explained: …" in the title, and a layer slider (an <input type=range>) when the spec
// has several layers. Moving the slider redraws the figure for that layer in place (Plotly.react).
import Plotly from "plotly.js-dist-min";
import { DEFAULT_GRID, SpatialMapSpec, bivariateColor, fmt } from "../../spec/index";
import { Layout, PLOT_CONFIG, RenderedWidget, Trace, axisStyle, baseLayout, draw, makeFrame } from "./common";

function figure(spec: SpatialMapSpec, index: number): { traces: Trace[]; layout: Layout } {
  const grid = spec.grid ?? DEFAULT_GRID;
  const L = spec.layers[index];
  const traces: Trace[] = [];
  for (let col = 0; col < grid.columns; col++) {
    const pts = L.points.filter((p) => p.column === col);
    if (pts.length === 0) continue;
    traces.push({
      type: "scatter", mode: "markers", name: `column ${col}`, legendgroup: `column ${col}`,
      x: pts.map((p) => p.x), y: pts.map((p) => p.y),
      text: pts.map((p) => p.label ?? `(${p.column}, ${p.row})`),
      hovertemplate: "cell %{text}<br>x %{x:.3f}, y %{y:.3f}<extra></extra>",
      marker: {
        size: spec.markerSize ?? 16, color: pts.map((p) => bivariateColor(p.column, p.row, grid.rows)),
        line: { color: "#333", width: 0.5 },
      },
    });
  }
  const markers = L.markers ?? [];
  if (markers.length > 0) {
    traces.push({
      type: "scatter", mode: "text", name: "markers", showlegend: false, x: markers.map((m) => m.x), y: markers.map((m) => m.y),
      text: markers.map((m) => m.text), textfont: { size: 18, color: "black", family: "Helvetica, Arial, sans-serif" },
      hovertemplate: "%{text}: x %{x:.3f}, y %{y:.3f}<extra></extra>",
    });
  }
  const head = spec.title ?? "Spatial IDs";
  const layout = baseLayout(`${head}: layer ${L.layer}`, {
    margin: { l: 60, r: 20, t: 135, b: 40 },
    legend: { orientation: "v", x: 1.02, y: 1, xanchor: "left", yanchor: "top" },
    xaxis: axisStyle({ side: "top", title: { text: spec.xLabel ?? "" }, zeroline: true, zerolinecolor: "#ccc" }),
    yaxis: axisStyle({
      autorange: spec.invertY === false ? true : "reversed", title: { text: spec.yLabel ?? "" },
      scaleanchor: "x", scaleratio: 1, zeroline: true, zerolinecolor: "#ccc",
    }),
  });
  // The x axis sits on top (as in the paper), so the title is pinned to the top edge of the figure (above the axis
  // title and tick labels), with the explained variance as plotly's subtitle: plotly measures both lines when it
  // anchors the block at its top, whereas a "<br>" second line made it clip the first line.
  layout.title = {
    ...(layout.title as Layout), y: 1, yref: "container", yanchor: "top", pad: { t: 10 },
    subtitle: L.explained === undefined ? undefined : { text: `Explained: ${fmt(L.explained, 2)}`, font: { size: 12 } },
  };
  return { traces, layout };
}

export async function renderSpatialMap(host: HTMLElement, spec: SpatialMapSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  let index = spec.initialLayer ?? 0;
  const first = figure(spec, index);
  if (spec.layers.length > 1) {
    const row = document.createElement("label");
    row.className = "linmech-slider-row";
    const text = document.createElement("span");
    text.className = "linmech-slider-label";
    const slider = document.createElement("input");
    slider.type = "range";
    slider.className = "linmech-layer-slider";
    slider.min = "0";
    slider.max = String(spec.layers.length - 1);
    slider.step = "1";
    slider.value = String(index);
    slider.setAttribute("aria-label", "layer");
    const setText = (): void => {
      text.textContent = `Layer ${spec.layers[index].layer}`;
    };
    setText();
    slider.addEventListener("input", () => {
      index = Number(slider.value);
      setText();
      const f = figure(spec, index);
      void Plotly.react(frame.plot, f.traces, f.layout, PLOT_CONFIG);
    });
    row.append(text, slider);
    frame.controls.append(row);
  }
  return draw(frame, first.traces, first.layout);
}
