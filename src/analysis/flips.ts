// Belief flips under steering (Fig 2). For one question, d = lp(GT) − lp(other) on the first answer token;
// d0 without intervention, d1 with it. Flipped iff sign(d1) ≠ sign(d0); samples with d0 = 0 or d1 = 0 (or a
// non-finite d) are excluded and counted (authors: flipped iff d1/d0 < 0, which silently excludes the same cases).
// Per model the authors report the mean ± std of the ID flip rate over the top-3 layers by ID flip rate, with the
// noise control at the same layers (an optimistic selection); `allLayerSummary` gives the unselected version.
import { median, mean, std } from "./stats";

/** d = lp(GT) − lp(other): positive when the model prefers the ground truth. */
export function answerMargin(lpGt: number, lpOther: number): number {
  return lpGt - lpOther;
}

/** true/false when both margins are finite and non-zero, null when the sample must be excluded. */
export function isFlipped(d0: number, d1: number): boolean | null {
  if (!Number.isFinite(d0) || !Number.isFinite(d1) || d0 === 0 || d1 === 0) return null;
  return Math.sign(d0) !== Math.sign(d1);
}

export interface FlipSample {
  d0: number;
  d1: number;
}

export interface FlipRate {
  /** flipped / counted (NaN when nothing was counted). */
  rate: number;
  flipped: number;
  counted: number;
  /** Samples excluded for a zero or non-finite margin. */
  excluded: number;
}

export function flipRate(samples: readonly FlipSample[]): FlipRate {
  let flipped = 0;
  let counted = 0;
  for (const { d0, d1 } of samples) {
    const f = isFlipped(d0, d1);
    if (f === null) continue;
    counted++;
    if (f) flipped++;
  }
  return { rate: counted > 0 ? flipped / counted : NaN, flipped, counted, excluded: samples.length - counted };
}

/** Flip rate for every layer. */
export function flipRatesByLayer(byLayer: ReadonlyMap<number, readonly FlipSample[]>): Map<number, FlipRate> {
  const out = new Map<number, FlipRate>();
  for (const [layer, samples] of byLayer) out.set(layer, flipRate(samples));
  return out;
}

export interface LayerSummary {
  /** Layers summarised (the top-k by ID rate, in descending order of ID rate; or all common layers in order). */
  layers: number[];
  id: { mean: number; std: number; values: number[] };
  control: { mean: number; std: number; values: number[] };
}

function rates(m: ReadonlyMap<number, number | FlipRate>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of m) {
    const r = typeof v === "number" ? v : v.rate;
    if (Number.isFinite(r)) out.set(k, r);
  }
  return out;
}

function summarise(layers: number[], id: Map<number, number>, control: Map<number, number>): LayerSummary {
  const a = layers.map((l) => id.get(l) as number);
  const b = layers.map((l) => control.get(l) as number);
  return { layers, id: { mean: mean(a), std: std(a), values: a }, control: { mean: mean(b), std: std(b), values: b } };
}

function commonLayers(id: Map<number, number>, control: Map<number, number>): number[] {
  const layers = [...id.keys()].filter((l) => control.has(l)).sort((x, y) => x - y);
  if (layers.length === 0) throw new Error("layer summary: no layer has a finite rate for both the ID and the control runs");
  return layers;
}

/**
 * The authors' Fig 2 summary: the k layers with the highest ID rate (among layers with finite rates in both runs;
 * ties broken by lower layer), mean and population std of the ID rates there, and of the control rates at the same
 * layers.
 */
export function topLayerSummary(
  idRates: ReadonlyMap<number, number | FlipRate>,
  controlRates: ReadonlyMap<number, number | FlipRate>,
  k = 3,
): LayerSummary {
  const id = rates(idRates);
  const control = rates(controlRates);
  const layers = commonLayers(id, control);
  if (!Number.isInteger(k) || k < 1) throw new Error(`topLayerSummary: k must be a positive integer, got ${k}`);
  if (k > layers.length) throw new Error(`topLayerSummary: k = ${k} but only ${layers.length} layers have both rates`);
  const top = [...layers].sort((x, y) => (id.get(y) as number) - (id.get(x) as number) || x - y).slice(0, k);
  return summarise(top, id, control);
}

/** The same statistics over every layer run for both, without selection. */
export function allLayerSummary(idRates: ReadonlyMap<number, number | FlipRate>, controlRates: ReadonlyMap<number, number | FlipRate>): LayerSummary {
  const id = rates(idRates);
  const control = rates(controlRates);
  return summarise(commonLayers(id, control), id, control);
}

/** Across models (the paper's headline): median ID rate, median control rate, mean and median of ID − control. */
export function flipHeadline(perModel: readonly { id: number; control: number }[]): {
  medianId: number;
  medianControl: number;
  meanNetGain: number;
  medianNetGain: number;
} {
  if (perModel.length === 0) throw new Error("flipHeadline: no models");
  const gains = perModel.map((m) => m.id - m.control);
  return {
    medianId: median(perModel.map((m) => m.id)),
    medianControl: median(perModel.map((m) => m.control)),
    meanNetGain: mean(gains),
    medianNetGain: median(gains),
  };
}
