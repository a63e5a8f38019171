// plot.<widget>(spec): build a widget spec without writing `kind`, validate it and show it. The helpers return
// nothing on purpose: tslab prints a cell's last value as text, which would dump the whole spec under the figure.
// To keep a spec, build it with `widgets.validateSpec({ kind: "belief-shift", ... })` and pass it to show().
//   lm.plot.beliefShift({ layers, panels: [...] })
import {
  BarsSpec, BeliefShiftSpec, ErrorScatterSpec, HistogramsSpec, InterventionLinesSpec, PsiRegressionSpec, SpatialMapSpec,
  SteeringExplorerSpec, WidgetSpec, validateSpec,
} from "@linmech/widgets/spec";
import { displayBundle } from "./display";
import { widgetBundle } from "./show";

/** A spec without its `kind` (the helper adds it). */
export type SpecInput<S extends WidgetSpec> = Omit<S, "kind">;

function make<S extends WidgetSpec>(kind: S["kind"]): (spec: SpecInput<S>) => void {
  return (spec) => {
    displayBundle(widgetBundle(validateSpec({ ...spec, kind })));
  };
}

export interface PlotHelpers {
  /** Lines vs layer with mean ± std bands, several panels (Fig 4, Fig 10a). */
  beliefShift(spec: SpecInput<BeliefShiftSpec>): void;
  /** 2-D map of spatial IDs coloured by grid cell, with a layer slider (Fig 5, Fig 10b). */
  spatialMap(spec: SpecInput<SpatialMapSpec>): void;
  /** ψ→Δ regression: R² vs rank / layer with a shuffled null, predicted vs actual positions. */
  psiRegression(spec: SpecInput<PsiRegressionSpec>): void;
  /** Grouped bars with error bars (Fig 2). */
  bars(spec: SpecInput<BarsSpec>): void;
  /** Error-bar scatter with dashed family lines (Fig 9). */
  errorScatter(spec: SpecInput<ErrorScatterSpec>): void;
  /** Overlaid density histograms (Fig 8). */
  histograms(spec: SpecInput<HistogramsSpec>): void;
  /** Mean ± band vs intervention cell, split by ground truth (Fig 6, 7, 10c). */
  interventionLines(spec: SpecInput<InterventionLinesSpec>): void;
  /** Scene image + clickable grid → answer log-probs per steering layer (teaching). */
  steeringExplorer(spec: SpecInput<SteeringExplorerSpec>): void;
}

export const plot: PlotHelpers = {
  beliefShift: make<BeliefShiftSpec>("belief-shift"),
  spatialMap: make<SpatialMapSpec>("spatial-map"),
  psiRegression: make<PsiRegressionSpec>("psi-regression"),
  bars: make<BarsSpec>("bars"),
  errorScatter: make<ErrorScatterSpec>("error-scatter"),
  histograms: make<HistogramsSpec>("histograms"),
  interventionLines: make<InterventionLinesSpec>("intervention-lines"),
  steeringExplorer: make<SteeringExplorerSpec>("steering-explorer"),
};
