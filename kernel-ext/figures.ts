// Experiment results → widget specs, so that `lm.show(result)` draws the right widget for linmech's experiment
// outputs (the paper's figure types), and `lm.figures.*` gives the same spec to adjust before showing it:
//   lm.show(r)  or  lm.show(lm.summariseMirrorSwap(r))  // belief-shift curves, one panel per token set (Fig 4;
//                                                       // a temporalMirrorSwap result, Fig 10a, gets the video titles)
//   lm.show([mirrorSummary, attributeSummary])          // (A) mirror and (B) attribute swapping side by side
//   lm.show(lm.projectGrids(grids, layers, markers))   // spatial-ID map with a layer slider (Fig 5)
//   lm.show(fit)                                        // a PsiFitResult: R² vs rank and vs layer with the null
//   lm.show(summaries)                                  // AdversarialSummary[] (or results): bars, ID vs noise (Fig 2)
//   lm.show(points)                                     // SteerabilityPoint[]: error-bar scatter (Fig 9)
// Recognition is by shape (the result types are plain objects), checked strictly enough not to catch other values.
import type {
  AdversarialResult, AdversarialSummary, GridProjection, LayerSummary, MirrorSwapResult, PsiFitResult, SteerabilityPoint, SwapSummary,
} from "linmech";
import { TEMPORAL_TOKEN_SET_TITLES, TOKEN_SET_TITLES, summariseAdversarial, summariseMirrorSwap } from "linmech";
import type {
  BarsSpec, BeliefShiftPanel, BeliefShiftSpec, ErrorScatterSpec, PsiRegressionSpec, SpatialLayer, SpatialMapSpec, WidgetSpec,
} from "@linmech/widgets/spec";

/** Title / caption overrides accepted by every converter. */
export interface FigureOptions {
  title?: string;
  caption?: string;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const nonEmptyArrayOf = <T>(x: unknown, is: (v: unknown) => v is T): x is T[] => Array.isArray(x) && x.length > 0 && x.every(is);

// "mirror" / "attribute": Fig 4; "reverse": Fig 10a (the same sweep on a clip and its frame-reversed copy)
const SWAP_KINDS = new Set<unknown>(["mirror", "attribute", "reverse"]);

export function isSwapSummary(x: unknown): x is SwapSummary<string> {
  return isObj(x) && SWAP_KINDS.has(x.kind) && Array.isArray(x.layers) && Array.isArray(x.answers) &&
    nonEmptyArrayOf(x.curves, (c): c is SwapSummary["curves"][number] => isObj(c) && typeof c.tokenSet === "string" && isObj(c.perWord));
}

export function isMirrorSwapResult(x: unknown): x is MirrorSwapResult<string> {
  return isObj(x) && SWAP_KINDS.has(x.kind) && Array.isArray(x.layers) && Array.isArray(x.tokenSets) &&
    Array.isArray(x.questions) && Array.isArray(x.answers);
}

export function isAdversarialResult(x: unknown): x is AdversarialResult {
  return isObj(x) && typeof x.model === "string" && typeof x.factor === "number" && Array.isArray(x.layers) && Array.isArray(x.questions);
}

export function isGridProjection(x: unknown): x is GridProjection {
  return isObj(x) && typeof x.layer === "number" && Array.isArray(x.px) && Array.isArray(x.py) && typeof x.explained === "number" &&
    isObj(x.markers) && typeof x.degenerate === "boolean";
}

export function isPsiFitResult(x: unknown): x is PsiFitResult {
  return isObj(x) && Array.isArray(x.ranks) && typeof x.nullRank === "number" &&
    nonEmptyArrayOf(x.layers, (l): l is PsiFitResult["layers"][number] => isObj(l) && Array.isArray(l.looR2) && Array.isArray(l.r2));
}

export function isAdversarialSummary(x: unknown): x is AdversarialSummary {
  return isObj(x) && typeof x.model === "string" && x.idRates instanceof Map && isObj(x.top) && isObj(x.all);
}

export function isSteerabilityPoint(x: unknown): x is SteerabilityPoint {
  return isObj(x) && typeof x.model === "string" && typeof x.family === "string" && typeof x.baseline === "number" &&
    isObj(x.steerability) && typeof x.steerability.mean === "number";
}

/** Belief-shift curves of one or two mirror-swap summaries (two: panels "(A)" then "(B)"), as in Fig 4. */
export function mirrorSwapFigure(summaries: SwapSummary<string> | readonly SwapSummary<string>[], opts: FigureOptions = {}): BeliefShiftSpec {
  const list = Array.isArray(summaries) ? (summaries as readonly SwapSummary<string>[]) : [summaries as SwapSummary<string>];
  if (list.length === 0) throw new Error("mirrorSwapFigure: no summaries given");
  const layers = list[0].layers;
  list.forEach((s, i) => {
    if (s.layers.length !== layers.length || s.layers.some((l, j) => l !== layers[j])) {
      throw new Error(`mirrorSwapFigure: summary ${i} has layers [${s.layers.join(", ")}], summary 0 has [${layers.join(", ")}]`);
    }
  });
  const panels: BeliefShiftPanel[] = [];
  list.forEach((s, i) => {
    const prefix = list.length > 1 ? `(${String.fromCharCode(65 + i)}) ` : "";
    for (const c of s.curves) {
      panels.push({
        title: `${prefix}${(s.kind === "reverse" ? TEMPORAL_TOKEN_SET_TITLES : TOKEN_SET_TITLES)[c.tokenSet] ?? c.tokenSet}`,
        series: s.answers.map((w) => ({
          name: `Δ"${w}"`,
          mean: (c.perWord[w] ?? []).map((x) => finite(x.mean)),
          std: (c.perWord[w] ?? []).map((x) => finite(x.std)),
        })),
      });
    }
  });
  const kinds = list.map((s) => `${s.kind === "reverse" ? "frame-reversal" : s.kind} swapping (N = ${s.n})`).join(", ");
  return {
    kind: "belief-shift",
    title: opts.title ?? `Belief shift: ${kinds}`,
    caption: opts.caption ?? "x: block L of blocks.L.hook_resid_post (−1 = hook_embed); mean ± std over questions of the per-word belief shift.",
    layers,
    panels,
    columns: Math.min(3, list[0].curves.length),
    yLabel: "Belief shift",
  };
}

/** "left" → "L", "right" → "R" when the first letters are distinct; the words themselves otherwise. */
function markerTexts(words: string[]): string[] {
  const initials = words.map((w) => w.charAt(0).toUpperCase());
  return new Set(initials).size === words.length ? initials : words;
}

/** Spatial-ID map of projected grids (one layer per projection, degenerate ones left out), as in Fig 5. */
export function spatialIdsFigure(projections: readonly GridProjection[], opts: FigureOptions & { initialLayer?: number } = {}): SpatialMapSpec {
  const ok = projections.filter((p) => !p.degenerate);
  if (ok.length === 0) {
    throw new Error(`spatialIdsFigure: all ${projections.length} projections are degenerate (zero IDs or parallel axes, e.g. hook_embed); nothing to draw`);
  }
  const layers: SpatialLayer[] = ok.map((p) => {
    const m = Math.round(Math.sqrt(p.px.length));
    if (m * m !== p.px.length) throw new Error(`spatialIdsFigure: layer ${p.layer} has ${p.px.length} cells, not a square grid`);
    const words = Object.keys(p.markers);
    const texts = markerTexts(words);
    return {
      layer: p.layer,
      explained: Math.min(1, Math.max(0, p.explained)),
      points: p.px.map((x, c) => ({ column: c % m, row: Math.floor(c / m), x, y: p.py[c] })),
      markers: words.length ? words.map((w, i) => ({ text: texts[i], x: p.markers[w][0], y: p.markers[w][1] })) : undefined,
    };
  });
  const m = Math.round(Math.sqrt(ok[0].px.length));
  let best = 0;
  ok.forEach((p, i) => { if (p.explained > ok[best].explained) best = i; });
  const initial = opts.initialLayer === undefined ? best : ok.findIndex((p) => p.layer === opts.initialLayer);
  if (initial < 0) throw new Error(`spatialIdsFigure: initialLayer ${opts.initialLayer} is not among the layers [${ok.map((p) => p.layer).join(", ")}]`);
  return {
    kind: "spatial-map",
    title: opts.title ?? "Spatial IDs",
    caption: opts.caption ?? "IDs projected on their own (h_L, v_L) plane; colour: hue = column, lightness = row. Slider: block L.",
    grid: { columns: m, rows: m },
    layers,
    initialLayer: initial,
    xLabel: "h (right)",
    yLabel: "v (down)",
  };
}

/** ψ → Δ regression: in-sample R² vs rank at the best layer, leave-one-cell-out R² vs layer at the null rank. */
export function psiRegressionFigure(fit: PsiFitResult, opts: FigureOptions = {}): PsiRegressionSpec {
  const ok = fit.layers.filter((l) => !l.degenerate);
  if (ok.length === 0) throw new Error("psiRegressionFigure: every layer is degenerate (zero IDs); nothing to draw");
  const k = fit.ranks.indexOf(fit.nullRank);
  if (k < 0) throw new Error(`psiRegressionFigure: nullRank ${fit.nullRank} is not among the ranks [${fit.ranks.join(", ")}]`);
  const best = ok.reduce((a, b) => ((b.looR2[k] ?? -Infinity) > (a.looR2[k] ?? -Infinity) ? b : a));
  const nn = (xs: number[]): number[] => xs.map((x) => (Number.isFinite(x) ? x : Number.NaN));
  return {
    kind: "psi-regression",
    title: opts.title ?? "ψ → Δ regression",
    caption: opts.caption ??
      `Rank panel: in-sample R² at block ${best.layer} with the shuffled-cell null per rank. Layer panel: leave-one-cell-out R² at rank ${fit.nullRank} with its shuffled null.`,
    byRank: {
      x: fit.ranks, r2: nn(best.r2), nullMean: nn(best.nullInSampleByRank.map((n) => n.mean)),
      nullStd: nn(best.nullInSampleByRank.map((n) => n.std)), highlight: fit.nullRank,
    },
    byLayer: {
      x: ok.map((l) => l.layer), r2: nn(ok.map((l) => l.looR2[k])), nullMean: nn(ok.map((l) => l.nullLoo.mean)),
      nullStd: nn(ok.map((l) => l.nullLoo.std)), highlight: best.layer,
    },
  };
}

/** Fig 2: % belief swapped under spatial-ID steering vs same-norm noise, one bar pair per model. */
export function adversarialFigure(
  summaries: readonly AdversarialSummary[], opts: FigureOptions & { layers?: "top" | "all" } = {},
): BarsSpec {
  if (summaries.length === 0) throw new Error("adversarialFigure: no summaries given");
  const which = opts.layers ?? "top";
  const pick = (s: AdversarialSummary): LayerSummary => (which === "top" ? s.top : s.all);
  const std = (x: number): number => (Number.isFinite(x) ? x : 0);
  return {
    kind: "bars",
    title: opts.title ?? (which === "top" ? "% belief swapped, top layers by ID flip rate" : "% belief swapped, mean over all layers"),
    caption: opts.caption ??
      (which === "top" ? "Mean ± std over each model's layers with the highest ID flip rate; noise at the same layers." : "Mean ± std over every decoder block."),
    categories: summaries.map((s) => s.model),
    percent: true,
    valueLabel: "% belief swapped",
    valueRange: [0, 1],
    series: [
      { name: "spatial ID", values: summaries.map((s) => pick(s).id.mean), errors: summaries.map((s) => std(pick(s).id.std)), color: "skyblue" },
      { name: "noise (same norm)", values: summaries.map((s) => pick(s).control.mean), errors: summaries.map((s) => std(pick(s).control.std)), color: "peachpuff" },
    ],
  };
}

/** Fig 9: baseline accuracy vs steerability, one point per model, checkpoints of a family joined. */
export function steerabilityFigure(points: readonly SteerabilityPoint[], opts: FigureOptions = {}): ErrorScatterSpec {
  const drawn = points.filter((p) => Number.isFinite(p.steerability.mean) && Number.isFinite(p.baseline));
  if (drawn.length === 0) throw new Error(`steerabilityFigure: none of the ${points.length} points has a finite steerability and baseline`);
  return {
    kind: "error-scatter",
    title: opts.title ?? "Baseline accuracy vs steerability",
    caption: opts.caption ?? "Steerability: mean over layers of acc_noise − acc_ID; error bar = std over layers.",
    xLabel: "steerability (ID accuracy drop − noise accuracy drop)",
    yLabel: "baseline accuracy",
    points: drawn.map((p) => ({
      name: p.model, family: p.family, x: p.steerability.mean, y: p.baseline,
      xError: Number.isFinite(p.steerability.std) ? p.steerability.std : undefined,
    })),
  };
}

/** The widget spec for a recognised experiment result, or undefined when `x` is none of them. */
export function resultWidget(x: unknown): WidgetSpec | undefined {
  if (isSwapSummary(x) || nonEmptyArrayOf(x, isSwapSummary)) return mirrorSwapFigure(x);
  if (isMirrorSwapResult(x)) return mirrorSwapFigure(summariseMirrorSwap(x));
  if (nonEmptyArrayOf(x, isMirrorSwapResult)) return mirrorSwapFigure(x.map((r) => summariseMirrorSwap(r)));
  if (isAdversarialResult(x)) return adversarialFigure([summariseAdversarial(x)]);
  if (nonEmptyArrayOf(x, isAdversarialResult)) return adversarialFigure(x.map((r) => summariseAdversarial(r)));
  if (nonEmptyArrayOf(x, isGridProjection)) return spatialIdsFigure(x);
  if (isPsiFitResult(x)) return psiRegressionFigure(x);
  if (isAdversarialSummary(x)) return adversarialFigure([x]);
  if (nonEmptyArrayOf(x, isAdversarialSummary)) return adversarialFigure(x);
  if (nonEmptyArrayOf(x, isSteerabilityPoint)) return steerabilityFigure(x);
  return undefined;
}

/** The converters, for adjusting a figure before `lm.show(spec)`. */
export const figures = {
  mirrorSwap: mirrorSwapFigure,
  spatialIds: spatialIdsFigure,
  psiRegression: psiRegressionFigure,
  adversarial: adversarialFigure,
  steerability: steerabilityFigure,
  of: resultWidget,
};
