// The object vocabulary: single lowercase words, each drawn by one Twemoji picture (@twemoji/svg, graphics
// CC-BY 4.0 by Twitter, Inc and contributors; see data/ATTRIBUTION.md). The paper's ten Objaverse objects come
// first; a fixed held-out set (none of the paper's ten) never appears in training relation questions.

/** Object name → Twemoji file stem (Unicode code point(s) in lowercase hex). */
export const OBJECT_EMOJI: Readonly<Record<string, string>> = Object.freeze({
  // the paper's ten (reference-code-spec §2.1)
  backpack: "1f392",
  fan: "1faad", // folding hand fan
  camel: "1f42a",
  frog: "1f438",
  dog: "1f415",
  cake: "1f370",
  log: "1fab5", // wood
  robot: "1f916",
  person: "1f9cd", // person standing
  teapot: "1fad6",
  // further objects, chosen to look clearly different from each other
  cat: "1f408",
  apple: "1f34e",
  car: "1f697",
  tree: "1f333",
  house: "1f3e0",
  ball: "26bd",
  bird: "1f426",
  fish: "1f41f",
  clock: "23f0",
  key: "1f511",
  boot: "1f97e",
  banana: "1f34c",
  chair: "1fa91",
  guitar: "1f3b8",
  rocket: "1f680",
  umbrella: "2602",
  hat: "1f452",
  bicycle: "1f6b2",
  duck: "1f986",
  pig: "1f416",
  elephant: "1f418",
  turtle: "1f422",
  pizza: "1f355",
  book: "1f4d5",
  bell: "1f514",
  crown: "1f451",
  // held out (see HELDOUT_OBJECTS)
  horse: "1f40e",
  lemon: "1f34b",
  truck: "1f69a",
  kite: "1fa81",
  mushroom: "1f344",
  cactus: "1f335",
});

/** The paper's ten objects, in the order of its extraction script. */
export const PAPER_OBJECTS: readonly string[] = Object.freeze([
  "backpack", "fan", "camel", "frog", "dog", "cake", "log", "robot", "person", "teapot",
]);

/** Objects kept out of every training relation question (they still appear in training grounding questions). */
export const HELDOUT_OBJECTS: readonly string[] = Object.freeze(["horse", "lemon", "truck", "kite", "mushroom", "cactus"]);

/** Every object name, in catalogue order. */
export const ALL_OBJECTS: readonly string[] = Object.freeze(Object.keys(OBJECT_EMOJI));

/** Objects allowed in training relation questions. */
export const TRAIN_OBJECTS: readonly string[] = Object.freeze(ALL_OBJECTS.filter((n) => !HELDOUT_OBJECTS.includes(n)));

/** Throws one clear error when a name is not in the catalogue. */
export function checkObjectName(name: string, where = "object"): string {
  if (typeof name !== "string" || !Object.prototype.hasOwnProperty.call(OBJECT_EMOJI, name)) {
    throw new Error(`unknown ${where} ${JSON.stringify(name)}: use one of ${ALL_OBJECTS.join(", ")}`);
  }
  return name;
}
