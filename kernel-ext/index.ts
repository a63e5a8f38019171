// @linmech/kernel-ext: what a TypeScript (tslab) notebook imports.
//   import * as lm from "@linmech/kernel-ext";
//   lm.show(result);                 // a widget spec, an experiment result (lm.figures), an arquero table, any value
//   lm.plot.beliefShift({...});      // build + show a widget from typed data
//   const bar = lm.progress(n, "images"); bar.tick(); bar.done();
//   await lm.run(async () => {...}); // one readable error message instead of a long stack
// It re-exports the whole `linmech` library (models, experiments, analysis), and the widget spec types and helpers
// under `lm.widgets` (validateSpec, bivariateColor, projectOntoPlane, spatialLayerFromVectors, ...).
export * from "linmech";
export * as widgets from "@linmech/widgets/spec";
export type {
  WidgetSpec, WidgetKind, BeliefShiftSpec, BeliefShiftPanel, BandSeries, SpatialMapSpec, SpatialLayer, SpatialPoint,
  TextMarker, PsiRegressionSpec, R2Curve, CellPrediction, BarsSpec, BarSeries, ErrorScatterSpec, ScatterPoint,
  HistogramsSpec, HistogramPanel, HistogramGroup, InterventionLinesSpec, InterventionPanel, SteeringExplorerSpec,
  SteeringCellResult, Cell, GridSize, CommonOptions,
} from "@linmech/widgets/spec";
export { WIDGET_MIME, SpecError, validateSpec } from "@linmech/widgets/spec";
export { show, widgetBundle, tableBundle, type ToWidget, type TableLike, type ShowOptions } from "./show";
export { plot, type PlotHelpers, type SpecInput } from "./plot";
export {
  figures, resultWidget, mirrorSwapFigure, spatialIdsFigure, psiRegressionFigure, adversarialFigure, steerabilityFigure,
  type FigureOptions,
} from "./figures";
export { progress, withProgress, Progress, type ProgressOptions } from "./progress";
export { run, readableError, NotebookError } from "./run";
export { displayBundle, inKernel, isHeadless, type MimeBundle } from "./display";
