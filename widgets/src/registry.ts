// The registry: widget kind → renderer. `renderWidget` validates the MIME data, draws it, and shows a readable
// error box (the SpecError's list of problems) instead of a figure when the data is not a valid spec.
import { WidgetKind, WidgetSpec, specProblems } from "../spec/index";
import { RenderedWidget } from "./render/common";
import { renderBeliefShift } from "./render/belief-shift";
import { renderSpatialMap } from "./render/spatial-map";
import { renderPsiRegression } from "./render/psi-regression";
import { renderBars } from "./render/bars";
import { renderErrorScatter } from "./render/error-scatter";
import { renderHistograms } from "./render/histograms";
import { renderInterventionLines } from "./render/intervention-lines";
import { renderSteeringExplorer } from "./render/steering-explorer";

export type { RenderedWidget } from "./render/common";

type Renderers = { [K in WidgetKind]: (host: HTMLElement, spec: Extract<WidgetSpec, { kind: K }>) => Promise<RenderedWidget> };

export const RENDERERS: Renderers = {
  "belief-shift": renderBeliefShift,
  "spatial-map": renderSpatialMap,
  "psi-regression": renderPsiRegression,
  bars: renderBars,
  "error-scatter": renderErrorScatter,
  histograms: renderHistograms,
  "intervention-lines": renderInterventionLines,
  "steering-explorer": renderSteeringExplorer,
};

function showError(host: HTMLElement, message: string): RenderedWidget {
  const box = document.createElement("pre");
  box.className = "linmech-error";
  box.textContent = message;
  host.append(box);
  return { resize: () => undefined, dispose: () => box.remove() };
}

/** Draws the widget described by `data` (the MIME bundle's JSON) into `host`. Never throws. */
export async function renderWidget(host: HTMLElement, data: unknown): Promise<RenderedWidget> {
  const problems = specProblems(data);
  if (problems.length > 0) {
    return showError(host, `linmech widget: the output's data is not a valid spec:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  const spec = data as WidgetSpec;
  try {
    const render = RENDERERS[spec.kind] as (host: HTMLElement, spec: WidgetSpec) => Promise<RenderedWidget>;
    return await render(host, spec);
  } catch (e) {
    return showError(host, `linmech widget: drawing the ${spec.kind} figure failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
