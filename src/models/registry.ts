// Family name (linmech.json "family") → adapter. New families register here; the engine only calls adapterFor.
import type { Bundle } from "../engine/bundle";
import type { AdapterFactory, ModelAdapter } from "./adapter";
import { llavaAdapter } from "./llava";
import { llavaVideoAdapter } from "./llavaVideo";
import { gemma3Adapter } from "./gemma3";
import { internvlAdapter } from "./internvl";
import { mllamaAdapter } from "./mllama";
import { qwen2vlAdapter } from "./qwen2vl";
import { llavaOnevisionAdapter } from "./llavaOnevision";

const FAMILIES = new Map<string, AdapterFactory>([
  ["llava", llavaAdapter],
  ["toy-llava", llavaAdapter],
  ["llava-video", llavaVideoAdapter],
  ["toy-llava-video", llavaVideoAdapter],
  ["qwen2-vl", qwen2vlAdapter],
  ["qwen2.5-vl", qwen2vlAdapter],
  ["gemma-3", gemma3Adapter],
  ["internvl", internvlAdapter],
  ["mllama", mllamaAdapter],
  ["llava-onevision", llavaOnevisionAdapter],
]);

/** Adds (or replaces) the adapter of a family. */
export function registerFamily(family: string, factory: AdapterFactory): void {
  FAMILIES.set(family, factory);
}

export function adapterFor(bundle: Bundle): ModelAdapter {
  const f = FAMILIES.get(bundle.meta.family);
  if (!f) throw new Error(`${bundle.dir}: unsupported model family "${bundle.meta.family}"; known: ${[...FAMILIES.keys()].join(", ")}`);
  return f(bundle);
}
