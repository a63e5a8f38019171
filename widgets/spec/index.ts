// @linmech/widgets/spec — the DOM-free half of linmech's widgets: one typed spec per widget (data + options), a
// validator with clear errors, a text summary (the text/plain part of every figure output), and helpers to
// build specs from raw data. The JupyterLab renderer (widgets/src) and the static PNG renderer draw these specs;
// Node code (kernel-ext, the library, scripts) builds them.
import { Checker, SpecError } from "./validate";
import { BeliefShiftSpec, checkBeliefShift, summarizeBeliefShift } from "./belief-shift";
import { SpatialMapSpec, checkSpatialMap, summarizeSpatialMap } from "./spatial-map";
import { PsiRegressionSpec, checkPsiRegression, summarizePsiRegression } from "./psi-regression";
import { BarsSpec, checkBars, summarizeBars } from "./bars";
import { ErrorScatterSpec, checkErrorScatter, summarizeErrorScatter } from "./error-scatter";
import { HistogramsSpec, checkHistograms, summarizeHistograms } from "./histograms";
import { InterventionLinesSpec, checkInterventionLines, summarizeInterventionLines } from "./intervention-lines";
import { SteeringExplorerSpec, checkSteeringExplorer, summarizeSteeringExplorer } from "./steering-explorer";

export * from "./validate";
export * from "./common";
export * from "./colors";
export * from "./projection";
export * from "./belief-shift";
export * from "./spatial-map";
export * from "./psi-regression";
export * from "./bars";
export * from "./error-scatter";
export * from "./histograms";
export * from "./intervention-lines";
export * from "./steering-explorer";

/** The MIME type of every linmech widget output; its data is a `WidgetSpec` (a JSON object with `kind`). */
export const WIDGET_MIME = "application/vnd.linmech.widget+json";

/** Any widget spec; `kind` selects the widget. */
export type WidgetSpec =
  | BeliefShiftSpec
  | SpatialMapSpec
  | PsiRegressionSpec
  | BarsSpec
  | ErrorScatterSpec
  | HistogramsSpec
  | InterventionLinesSpec
  | SteeringExplorerSpec;

export type WidgetKind = WidgetSpec["kind"];

interface KindInfo {
  check: (c: Checker, o: Record<string, unknown>) => void;
  summarize: (s: never) => string;
  /** Default figure height in px. */
  height: number;
}

const KINDS: { [K in WidgetKind]: KindInfo } = {
  "belief-shift": { check: checkBeliefShift, summarize: summarizeBeliefShift, height: 380 },
  "spatial-map": { check: checkSpatialMap, summarize: summarizeSpatialMap, height: 520 },
  "psi-regression": { check: checkPsiRegression, summarize: summarizePsiRegression, height: 400 },
  bars: { check: checkBars, summarize: summarizeBars, height: 460 },
  "error-scatter": { check: checkErrorScatter, summarize: summarizeErrorScatter, height: 520 },
  histograms: { check: checkHistograms, summarize: summarizeHistograms, height: 380 },
  "intervention-lines": { check: checkInterventionLines, summarize: summarizeInterventionLines, height: 360 },
  "steering-explorer": { check: checkSteeringExplorer, summarize: summarizeSteeringExplorer, height: 440 },
};

/** Every widget kind, in a stable order. */
export const WIDGET_KINDS = Object.keys(KINDS) as WidgetKind[];

export function isWidgetKind(k: unknown): k is WidgetKind {
  return typeof k === "string" && Object.prototype.hasOwnProperty.call(KINDS, k);
}

/** Default height in px of a widget kind (a spec's `height` overrides it). */
export function defaultHeight(kind: WidgetKind): number {
  return KINDS[kind].height;
}

/** The problems with a would-be spec (empty when valid). */
export function specProblems(x: unknown): string[] {
  const c = new Checker();
  const o = c.object(x, "spec");
  if (!o) return c.problems;
  if (!isWidgetKind(o.kind)) {
    c.fail("kind", `expected one of ${WIDGET_KINDS.map((k) => JSON.stringify(k)).join(", ")}, got ${c.describe(o.kind)}`);
    return c.problems;
  }
  KINDS[o.kind].check(c, o);
  return c.problems;
}

/** Returns `x` typed as a spec, or throws a SpecError listing every problem (path: what is wrong). */
export function validateSpec(x: unknown): WidgetSpec {
  const problems = specProblems(x);
  if (problems.length > 0) {
    const kind = typeof x === "object" && x !== null && typeof (x as { kind?: unknown }).kind === "string" ? (x as { kind: string }).kind : "widget";
    throw new SpecError(kind, problems);
  }
  return x as WidgetSpec;
}

/** A few lines of text describing the figure's content (the text/plain part of its output). */
export function summarizeSpec(spec: WidgetSpec): string {
  return (KINDS[spec.kind].summarize as (s: WidgetSpec) => string)(spec);
}
