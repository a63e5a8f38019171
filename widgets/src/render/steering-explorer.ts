// Renderer: steering explorer — the scene image with its grid of clickable cells drawn over it, and a plot of the
// answers' log-probs per steering layer for the selected cell (solid) against the unsteered baseline (dashed).
// Everything comes from the precomputed sweep in the spec; a click only redraws (Plotly.react).
import Plotly from "plotly.js-dist-min";
import { Cell, DEFAULT_GRID, SteeringExplorerSpec, cellLabel, fmt, seriesColor, sweepAt } from "../../spec/index";
import { Layout, PLOT_CONFIG, RenderedWidget, Trace, axisStyle, baseLayout, draw, makeFrame } from "./common";

function figure(spec: SteeringExplorerSpec, cell: Cell): { traces: Trace[]; layout: Layout } {
  const entry = sweepAt(spec, cell);
  const traces: Trace[] = [];
  spec.answers.forEach((answer, a) => {
    const color = seriesColor(a);
    traces.push({
      type: "scatter", mode: "lines+markers", name: `"${answer}" steered`, legendgroup: answer, x: spec.layers,
      y: entry ? entry.logprobs.map((row) => row[a]) : [], line: { color, width: 2 }, marker: { size: 6, color },
      hovertemplate: `log p("${answer}") = %{y:.3f}<extra>layer %{x}</extra>`,
    });
    traces.push({
      type: "scatter", mode: "lines", name: `"${answer}" no steering`, legendgroup: answer, x: spec.layers,
      y: spec.layers.map(() => spec.baseline[a]), line: { color, width: 1.5, dash: "dash" },
      hovertemplate: `baseline log p("${answer}") = %{y:.3f}<extra></extra>`,
    });
  });
  const layout = baseLayout(`Steering ${spec.subject?.label ?? "the subject"} toward ${cellLabel(cell)}`, {
    margin: { l: 60, r: 20, t: 50, b: 50 },
    xaxis: axisStyle({ title: { text: "Steering layer" } }),
    yaxis: axisStyle({ title: { text: spec.yLabel ?? "Answer log-prob" } }),
    legend: { orientation: "h", x: 0.5, xanchor: "center", y: -0.22, yanchor: "top" },
  });
  return { traces, layout };
}

export async function renderSteeringExplorer(host: HTMLElement, spec: SteeringExplorerSpec): Promise<RenderedWidget> {
  const frame = makeFrame(host, spec);
  const grid = spec.grid ?? DEFAULT_GRID;
  frame.root.classList.add("linmech-explorer-layout");
  if (spec.title) {
    const h = document.createElement("div");
    h.className = "linmech-explorer-title";
    h.textContent = spec.title;
    frame.root.prepend(h);
  }
  // Left: the image with the grid of cells over it.
  const scene = document.createElement("div");
  scene.className = "linmech-scene";
  const img = document.createElement("img");
  img.src = spec.image;
  img.alt = "scene";
  const overlay = document.createElement("div");
  overlay.className = "linmech-grid";
  overlay.style.gridTemplateColumns = `repeat(${grid.columns}, 1fr)`;
  overlay.style.gridTemplateRows = `repeat(${grid.rows}, 1fr)`;
  scene.append(img, overlay);
  const readout = document.createElement("div");
  readout.className = "linmech-readout";
  const side = document.createElement("div");
  side.className = "linmech-scene-column";
  if (spec.prompt) {
    const q = document.createElement("div");
    q.className = "linmech-prompt";
    q.textContent = spec.prompt;
    side.append(q);
  }
  side.append(scene, readout);
  frame.root.querySelector(".linmech-body")?.prepend(side);

  let selected: Cell = spec.initialCell ?? { column: spec.sweep[0].column, row: spec.sweep[0].row };
  const buttons: HTMLButtonElement[] = [];
  const describe = (cell: Cell): string => {
    const e = sweepAt(spec, cell);
    if (!e) return `${cellLabel(cell)}: not swept`;
    return `${cellLabel(cell)}: ` + spec.answers
      .map((ans, a) => {
        let best = 0;
        e.logprobs.forEach((row, l) => { if (Math.abs(row[a] - spec.baseline[a]) > Math.abs(e.logprobs[best][a] - spec.baseline[a])) best = l; });
        return `"${ans}": ${fmt(spec.baseline[a], 2)} → ${fmt(e.logprobs[best][a], 2)} (layer ${spec.layers[best]})`;
      })
      .join("; ");
  };
  const select = (cell: Cell): void => {
    selected = cell;
    for (const b of buttons) b.classList.toggle("linmech-selected", Number(b.dataset.column) === cell.column && Number(b.dataset.row) === cell.row);
    readout.textContent = `Steering toward ${describe(cell)} (largest change over layers)`;
  };
  for (let row = 0; row < grid.rows; row++) {
    for (let column = 0; column < grid.columns; column++) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "linmech-cell";
      b.dataset.column = String(column);
      b.dataset.row = String(row);
      b.title = `steer toward ${cellLabel({ column, row })}`;
      const swept = sweepAt(spec, { column, row }) !== undefined;
      b.disabled = !swept;
      if (spec.subject && spec.subject.column === column && spec.subject.row === row) {
        b.classList.add("linmech-subject");
        b.textContent = spec.subject.label ?? "subject";
      }
      b.addEventListener("click", () => {
        select({ column, row });
        const f = figure(spec, selected);
        void Plotly.react(frame.plot, f.traces, f.layout, PLOT_CONFIG);
      });
      buttons.push(b);
      overlay.append(b);
    }
  }
  select(selected);
  const f = figure(spec, selected);
  return draw(frame, f.traces, f.layout);
}
