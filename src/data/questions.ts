// Question and caption templates (the paper's wording, with articles) and their one-word lowercase answers.

/** "a" or "an" before a lowercase noun. */
export function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? "an" : "a";
}

export const Q = {
  leftRight: (s: string, r: string) => `Is the ${s} to the left or right of the ${r}?`,
  aboveBelow: (s: string, r: string) => `Is the ${s} above or below the ${r}?`,
  whichColumn: (s: string) => `Which column is the ${s} in?`,
  whichRow: (s: string) => `Which row is the ${s} in?`,
  whatInCell: (col: number, row: number) => `What is in cell r${row} c${col}?`,
  nearFar: (s: string, r: string) => `Is the ${s} near or far from the ${r}?`,
  inBetween: (s: string, r1: string, r2: string) => `Is the ${s} in between the ${r1} and the ${r2}?`,
  frontBehind: (s: string, r: string) => `Is the ${s} in front of or behind the ${r}?`,
  beforeAfter: (s: string, r: string) => `Does the ${s} come before or after the ${r}?`,
} as const;

/** Relation words as they appear in What'sUp-style captions. */
export const CAPTION_RELATION: Readonly<Record<string, string>> = Object.freeze({
  left: "to the left of",
  right: "to the right of",
  above: "above",
  below: "below",
});

/** "A photo of a frog to the left of a camel". */
export function caption(subject: string, relation: keyof typeof CAPTION_RELATION | string, reference: string): string {
  const rel = CAPTION_RELATION[relation];
  if (rel === undefined) throw new Error(`caption: unknown relation ${JSON.stringify(relation)}; use left, right, above or below`);
  return `A photo of ${article(subject)} ${subject} ${rel} ${article(reference)} ${reference}`;
}

/** Column / row answer words used by the grounding questions. */
export const columnWord = (c: number) => `c${c}`;
export const rowWord = (r: number) => `r${r}`;

/** The opposite answer of each binary relation (mirror / reversal counterfactuals). */
export const OPPOSITE: Readonly<Record<string, string>> = Object.freeze({
  left: "right", right: "left", above: "below", below: "above",
  near: "far", far: "near", front: "behind", behind: "front",
  before: "after", after: "before", yes: "no", no: "yes",
});
