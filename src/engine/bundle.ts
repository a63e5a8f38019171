// A model bundle on disk: linmech.json + tokenizer/processor configs + three ONNX files (transformers.js layout).
// readBundle checks every file up front and names the one that is missing or unreadable.
//
// Derived bundles: a linmech.json with `"base": "<bundle>"` holds only the files that differ from that base bundle
// (e.g. a fine-tuned vision_encoder.onnx: data/models/toy-llava-sidft-*). Every other file is taken from the base
// (a name under data/models, a sibling folder, or a path relative to the derived bundle; bases may chain), and the
// derived linmech.json's fields override the base's. A missing base is an error naming it. `Bundle.files` maps each
// file to the path it resolved to; content hashes (universalIds.bundleHash) read those resolved files.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { modelsDir } from "../util/paths";

/** linmech.json, written by tools/export (fields the engine and the adapters read). */
export interface BundleMeta {
  format: number;
  family: string;
  num_layers: number;
  hidden_size: number;
  vocab_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  image_token: string;
  image_token_id: number;
  tokens_per_image: number;
  image_size: number;
  patch_size?: number;
  rope?: string;
  /** site name → ONNX tensor name (hook_embed → "inputs_embeds") */
  hook_map: Record<string, string>;
  final_norm_output?: string;
  /**
   * "bidirectional": tokens of one image attend to each other in both directions (Gemma-3); prefix reuse then never
   * splits inside an image. Default causal.
   */
  image_attention?: "causal" | "bidirectional";
  /**
   * decoder layers that have a self-attention KV cache (`past_key_values.{i}.key/value`, `present.{i}.*` for these i);
   * default every layer. Llama-3.2-Vision: the self-attention layers (its cross-attention layers keep no cache).
   */
  kv_layers?: number[];
  /**
   * cross-attention families (Llama-3.2-Vision): the vision encoder's outputs named in `inputs` (one image per
   * prompt) are fed to the decoder under the same names on every call, with a leading batch axis of 1 (all rows of
   * the call share the image; the graph broadcasts) or B, instead of being written into the token embeddings;
   * `layers` lists the decoder's cross-attention layers (informational).
   */
  cross_attention?: { inputs: string[]; layers?: number[] };
  /** video families: placeholder of a clip and the most frames the model takes */
  video_token?: string;
  video_token_id?: number;
  max_frames?: number;
  tokens_per_frame?: number;
  [extra: string]: unknown;
}

/** preprocessor_config.json (HF image processor settings). */
export interface PreprocessorConfig {
  do_resize?: boolean;
  size?: { shortest_edge?: number; height?: number; width?: number; longest_edge?: number };
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: { height: number; width: number } | number;
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number[];
  image_std?: number[];
  do_convert_rgb?: boolean;
  [extra: string]: unknown;
}

export interface TokenizerConfig {
  chat_template?: string | { name: string; template: string }[];
  bos_token?: string | { content: string };
  eos_token?: string | { content: string };
  pad_token?: string | { content: string };
  [extra: string]: unknown;
}

export interface Bundle {
  /** absolute folder */
  dir: string;
  /** folder name, e.g. "toy-llava" */
  name: string;
  meta: BundleMeta;
  config: Record<string, unknown>;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: TokenizerConfig;
  preprocessor: PreprocessorConfig;
  /** generation_config.json when present (eos_token_id: one id or a list) */
  generationConfig?: { eos_token_id?: number | number[]; [extra: string]: unknown };
  onnx: { vision: string; embed: string; decoder: string };
  /** derived bundles: the base folders, nearest first (empty for a self-contained bundle) */
  bases: string[];
  /** bundle-relative file name (e.g. "onnx/vision_encoder.onnx") → the path it resolved to (own folder or a base) */
  files: Record<string, string>;
}

export const BUNDLE_ONNX = {
  vision: "onnx/vision_encoder.onnx",
  embed: "onnx/embed_tokens.onnx",
  decoder: "onnx/decoder_model_merged.onnx",
} as const;

/** A bundle folder from a path, or from a name under data/models (e.g. "toy-llava"). */
export function resolveBundleDir(pathOrName: string): string {
  const direct = isAbsolute(pathOrName) ? pathOrName : resolve(pathOrName);
  if (existsSync(direct) && statSync(direct).isDirectory()) return direct;
  if (!pathOrName.includes("/") && !pathOrName.includes("\\")) {
    const named = join(modelsDir(), pathOrName);
    if (existsSync(named)) return named;
    throw new Error(
      `model "${pathOrName}" not found: no folder ${direct} and no bundle ${named} (pass a bundle folder or a name under data/models)`,
    );
  }
  throw new Error(`model bundle folder not found: ${direct}`);
}

/** The files a bundle may consist of (besides model cards and eval results). */
export const BUNDLE_FILES: readonly string[] = [
  "linmech.json", "config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
  "generation_config.json", BUNDLE_ONNX.vision, BUNDLE_ONNX.embed, BUNDLE_ONNX.decoder,
];

function readJsonFile<T>(p: string): T {
  try {
    return JSON.parse(readFileSync(p, "utf8")) as T;
  } catch (e) {
    throw new Error(`bundle file ${p} is not valid JSON (${(e as Error).message}); re-export the bundle`);
  }
}

/** Where the base named by a derived bundle's linmech.json lives: a path relative to the bundle, a sibling folder,
 * or a bundle under data/models. Throws naming the base when none exists. */
export function resolveBaseDir(dir: string, base: unknown): string {
  if (typeof base !== "string" || !base) throw new Error(`${join(dir, "linmech.json")}: "base" must name a bundle (a name under data/models or a relative path), got ${JSON.stringify(base)}`);
  const tried: string[] = [];
  const cands = base.includes("/") || base.includes("\\") || isAbsolute(base)
    ? [isAbsolute(base) ? base : resolve(dir, base)]
    : [join(dirname(dir), base), join(modelsDir(), base)];
  for (const c of cands) {
    if (existsSync(join(c, "linmech.json"))) return c;
    tried.push(c);
  }
  throw new Error(`bundle ${dir} is derived from base bundle "${base}" (linmech.json "base"), which was not found (looked for ${tried.map((t) => join(t, "linmech.json")).join(" and ")}); restore the base bundle or re-export ${dir} as a complete bundle`);
}

/** The folders a bundle's files are looked up in: the bundle itself, then its base chain (nearest first). */
export function bundleChain(dir: string): string[] {
  const chain = [dir];
  for (;;) {
    const cur = chain[chain.length - 1];
    const metaPath = join(cur, "linmech.json");
    if (!existsSync(metaPath)) {
      if (chain.length === 1) return chain; // readBundle reports the missing linmech.json
      throw new Error(`base bundle ${cur} has no linmech.json`);
    }
    const base = readJsonFile<{ base?: unknown }>(metaPath).base;
    if (base === undefined) return chain;
    const next = resolveBaseDir(cur, base);
    if (chain.some((c) => resolve(c) === resolve(next)))
      throw new Error(`bundle ${dir}: base bundles form a cycle (${[...chain, next].join(" → ")})`);
    chain.push(next);
  }
}

/** Path of a bundle-relative file (own folder first, then the base chain), or undefined when no folder has it. */
export function resolveBundleFile(dir: string, file: string, chain: string[] = bundleChain(dir)): string | undefined {
  for (const d of chain) {
    const p = join(d, file);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The error for a file that neither a bundle nor its base chain has. */
function missingFile(chain: string[], file: string): Error {
  const via = chain.length > 1 ? ` (nor do its base bundles ${chain.slice(1).join(", ")})` : "";
  return new Error(`bundle ${chain[0]} is missing ${file}${via}; re-export it with tools/export`);
}

function readJson<T>(chain: string[], file: string, required: boolean): T | undefined {
  const p = resolveBundleFile(chain[0], file, chain);
  if (!p) {
    if (!required) return undefined;
    throw missingFile(chain, file);
  }
  return readJsonFile<T>(p);
}

const REQUIRED_META: (keyof BundleMeta)[] = [
  "family", "num_layers", "hidden_size", "vocab_size", "num_key_value_heads", "head_dim", "image_token_id",
  "tokens_per_image", "hook_map",
];

/** Decoder layers with a self-attention KV cache, in order (linmech.json kv_layers, default 0..num_layers-1). */
// computed once per bundle: runDecoder asks on every session call
const KV_LAYERS = new WeakMap<BundleMeta, readonly number[]>();

export function kvLayers(meta: BundleMeta): readonly number[] {
  let kv = KV_LAYERS.get(meta);
  if (kv) return kv;
  const given = meta.kv_layers;
  if (given !== undefined && (!Array.isArray(given) || given.some((i) => !Number.isInteger(i) || i < 0 || i >= meta.num_layers)))
    throw new Error(`linmech.json kv_layers must list decoder layer indices 0..${meta.num_layers - 1}, got ${JSON.stringify(given)}; re-export the bundle`);
  kv = given ?? Array.from({ length: meta.num_layers }, (_, i) => i);
  KV_LAYERS.set(meta, kv);
  return kv;
}

export function readBundle(pathOrName: string): Bundle {
  const dir = resolveBundleDir(pathOrName);
  if (!existsSync(join(dir, "linmech.json"))) throw new Error(`bundle ${dir} is missing linmech.json; re-export it with tools/export`);
  const chain = bundleChain(dir);
  // linmech.json: the base chain's fields, overridden by each nearer bundle's own (a derived bundle's wins)
  let meta = {} as BundleMeta;
  for (const d of [...chain].reverse()) meta = { ...meta, ...readJsonFile<BundleMeta>(join(d, "linmech.json")) };
  const missing = REQUIRED_META.filter((k) => meta[k] === undefined);
  if (missing.length) throw new Error(`${join(dir, "linmech.json")} lacks ${missing.join(", ")}; re-export the bundle`);
  for (let i = 0; i < meta.num_layers; i++)
    if (!meta.hook_map[`blocks.${i}.hook_resid_post`])
      throw new Error(`${join(dir, "linmech.json")}: hook_map has no entry for blocks.${i}.hook_resid_post`);
  const tokenizerJson = readJson<Record<string, unknown>>(chain, "tokenizer.json", true)!;
  const tokenizerConfig = readJson<TokenizerConfig>(chain, "tokenizer_config.json", false) ?? {};
  const preprocessor = readJson<PreprocessorConfig>(chain, "preprocessor_config.json", true)!;
  const config = readJson<Record<string, unknown>>(chain, "config.json", false) ?? {};
  const generationConfig = readJson<Bundle["generationConfig"]>(chain, "generation_config.json", false);
  const files: Record<string, string> = {};
  for (const f of BUNDLE_FILES) {
    const p = resolveBundleFile(dir, f, chain);
    if (p) files[f] = p;
  }
  for (const f of Object.values(BUNDLE_ONNX)) if (!files[f]) throw missingFile(chain, f);
  const onnx = { vision: files[BUNDLE_ONNX.vision], embed: files[BUNDLE_ONNX.embed], decoder: files[BUNDLE_ONNX.decoder] };
  const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
  return { dir, name, meta, config, tokenizerJson, tokenizerConfig, preprocessor, generationConfig, onnx, bases: chain.slice(1), files };
}
