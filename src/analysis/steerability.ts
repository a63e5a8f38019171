// Accuracy and steerability (Fig 9). Verdict of a generated answer: "correct" if it names the GT word and not the
// other, "wrong" for the reverse, otherwise "nonsense". Accuracy = correct / all (nonsense stays in the
// denominator, as the authors). Steerability of a model = mean over its intervention layers of the accuracy drop
// acc_none − acc_ID(L), error bar = population std over layers. The paper's axis says "ID minus noise", which the
// authors' code does not do; `noiseSubtracted` gives drop_ID(L) − drop_noise(L) = acc_noise(L) − acc_ID(L).
import { mean, std } from "./stats";

export type Verdict = "correct" | "wrong" | "nonsense";

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Classifies a generated answer. match "word" (default) needs whole-word, case-insensitive matches; "substring"
 * is the authors' `word in text.lower()` (so "left" also matches "leftmost").
 */
export function answerVerdict(text: string, gtWord: string, otherWord: string, match: "word" | "substring" = "word"): Verdict {
  const t = text.toLowerCase();
  const has = (w: string): boolean =>
    match === "substring" ? t.includes(w.toLowerCase()) : new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(w.toLowerCase())}($|[^\\p{L}\\p{N}])`, "u").test(t);
  const g = has(gtWord);
  const o = has(otherWord);
  return g && !o ? "correct" : o && !g ? "wrong" : "nonsense";
}

/** Fraction of verdicts that are "correct" (denominator: all, including nonsense). */
export function accuracy(verdicts: readonly Verdict[]): number {
  if (verdicts.length === 0) throw new Error("accuracy: no verdicts");
  return verdicts.filter((v) => v === "correct").length / verdicts.length;
}

export interface Steerability {
  /** Layers used (those with an ID accuracy; with noise, those with both). */
  layers: number[];
  /** acc_none − acc_ID(L) per layer. */
  drops: number[];
  mean: number;
  std: number;
  /** Present when noise accuracies were given: (acc_none − acc_ID) − (acc_none − acc_noise) per layer. */
  noiseSubtracted?: { drops: number[]; mean: number; std: number };
}

export function accuracyDrop(
  baseline: number,
  idByLayer: ReadonlyMap<number, number>,
  noiseByLayer?: ReadonlyMap<number, number>,
): Steerability {
  if (!Number.isFinite(baseline)) throw new Error(`accuracyDrop: baseline accuracy must be finite, got ${baseline}`);
  let layers = [...idByLayer.keys()].sort((a, b) => a - b);
  if (noiseByLayer) layers = layers.filter((l) => noiseByLayer.has(l));
  if (layers.length === 0) throw new Error("accuracyDrop: no layers (with both ID and noise accuracies)");
  const drops = layers.map((l) => baseline - (idByLayer.get(l) as number));
  const out: Steerability = { layers, drops, mean: mean(drops), std: std(drops) };
  if (noiseByLayer) {
    const net = layers.map((l) => (noiseByLayer.get(l) as number) - (idByLayer.get(l) as number));
    out.noiseSubtracted = { drops: net, mean: mean(net), std: std(net) };
  }
  return out;
}
