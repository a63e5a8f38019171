// Which objects a scene may use, per split: training relation scenes never show a held-out object (not even as a
// distractor); held-out relation scenes always ask about at least one held-out object; grounding scenes use all.
import type { Rng } from "../analysis/rng";
import { pick, pickDistinct } from "./seeds";
import { ALL_OBJECTS, HELDOUT_OBJECTS, TRAIN_OBJECTS } from "./objects";

export type Split = "train" | "heldout";

export function checkSplit(split: string): Split {
  if (split !== "train" && split !== "heldout") throw new Error(`split must be "train" or "heldout", got ${JSON.stringify(split)}`);
  return split;
}

/**
 * k distinct objects for a relation scene (the first two are asked about). heldout: one of the first two is a
 * held-out object, the rest come from every object.
 */
export function relationObjects(rng: Rng, split: Split, k: number): string[] {
  if (split === "train") return pickDistinct(rng, TRAIN_OBJECTS, k);
  const h = pick(rng, HELDOUT_OBJECTS);
  const rest = pickDistinct(rng, ALL_OBJECTS.filter((n) => n !== h), k - 1);
  const slot = rng.int(2); // held-out object as subject or as reference
  rest.splice(slot, 0, h);
  return rest;
}

/** Objects that may be distractors in a relation scene of this split, excluding those already used. */
export function distractorPool(split: Split, used: readonly string[]): string[] {
  const base = split === "train" ? TRAIN_OBJECTS : ALL_OBJECTS;
  return base.filter((n) => !used.includes(n));
}

/** k distinct objects for a grounding scene (every object, both splits). */
export function groundingObjects(rng: Rng, k: number): string[] {
  return pickDistinct(rng, ALL_OBJECTS, k);
}
