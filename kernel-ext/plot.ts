// plot.<widget>(spec): build a widget spec without writing `kind`, validate it, show it, and return it.
//   lm.plot.beliefShift({ layers, panels: [...] })
import {
  BarsSpec, BeliefShiftSpec, ErrorScatterSpec, HistogramsSpec, InterventionLinesSpec, PsiRegressionSpec, SpatialMapSpec,
  SteeringExplorerSpec, WidgetSpec, validateSpec,
} from "@linmech/widgets/spec";
import { displayBundle } from "./display";
import { widgetBundle } from "./show";

/** A spec without its `kind` (the helper adds it). */
export type SpecInput<S extends WidgetSpec> = Omit<S, "kind">;

function make<S extends WidgetSpec>(kind: S["kind"]): (spec: SpecInput<S>) => S {
  return (spec) => {
    const full = validateSpec({ ...spec, kind }) as S;
    displayBundle(widgetBundle(full));
    return full;
  };
}

export interface PlotHelpers {
  /** Lines vs layer with mean ± std bands, several panels (Fig 4, Fig 10a). */
  beliefShift(spec: SpecInput<BeliefShiftSpec>): BeliefShiftSpec;
  /** 2-D map of spatial IDs coloured by grid cell, with a layer slider (Fig 5, Fig 10b). */
  spatialMap(spec: SpecInput<SpatialMapSpec>): SpatialMapSpec;
  /** ψ→Δ regression: R² vs rank / layer with a shuffled null, predicted vs actual positions. */
  psiRegression(spec: SpecInput<PsiRegressionSpec>): PsiRegressionSpec;
  /** Grouped bars with error bars (Fig 2). */
  bars(spec: SpecInput<BarsSpec>): BarsSpec;
  /** Error-bar scatter with dashed family lines (Fig 9). */
  errorScatter(spec: SpecInput<ErrorScatterSpec>): ErrorScatterSpec;
  /** Overlaid density histograms (Fig 8). */
  histograms(spec: SpecInput<HistogramsSpec>): HistogramsSpec;
  /** Mean ± band vs intervention cell, split by ground truth (Fig 6, 7, 10c). */
  interventionLines(spec: SpecInput<InterventionLinesSpec>): InterventionLinesSpec;
  /** Scene image + clickable grid → answer log-probs per steering layer (teaching). */
  steeringExplorer(spec: SpecInput<SteeringExplorerSpec>): SteeringExplorerSpec;
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
