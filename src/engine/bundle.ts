// A model bundle on disk: linmech.json + tokenizer/processor configs + three ONNX files (transformers.js layout).
// readBundle checks every file up front and names the one that is missing or unreadable.
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
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

function readJson<T>(dir: string, file: string, required: boolean): T | undefined {
  const p = join(dir, file);
  if (!existsSync(p)) {
    if (!required) return undefined;
    throw new Error(`bundle ${dir} is missing ${file}; re-export it with tools/export`);
  }
  try {
    return JSON.parse(readFileSync(p, "utf8")) as T;
  } catch (e) {
    throw new Error(`bundle file ${p} is not valid JSON (${(e as Error).message}); re-export the bundle`);
  }
}

const REQUIRED_META: (keyof BundleMeta)[] = [
  "family", "num_layers", "hidden_size", "vocab_size", "num_key_value_heads", "head_dim", "image_token_id",
  "tokens_per_image", "hook_map",
];

/** Decoder layers with a self-attention KV cache, in order (linmech.json kv_layers, default 0..num_layers-1). */
export function kvLayers(meta: BundleMeta): number[] {
  const kv = meta.kv_layers;
  if (kv === undefined) return Array.from({ length: meta.num_layers }, (_, i) => i);
  if (!Array.isArray(kv) || kv.some((i) => !Number.isInteger(i) || i < 0 || i >= meta.num_layers))
    throw new Error(`linmech.json kv_layers must list decoder layer indices 0..${meta.num_layers - 1}, got ${JSON.stringify(kv)}; re-export the bundle`);
  return kv;
}

export function readBundle(pathOrName: string): Bundle {
  const dir = resolveBundleDir(pathOrName);
  const meta = readJson<BundleMeta>(dir, "linmech.json", true)!;
  const missing = REQUIRED_META.filter((k) => meta[k] === undefined);
  if (missing.length) throw new Error(`${join(dir, "linmech.json")} lacks ${missing.join(", ")}; re-export the bundle`);
  for (let i = 0; i < meta.num_layers; i++)
    if (!meta.hook_map[`blocks.${i}.hook_resid_post`])
      throw new Error(`${join(dir, "linmech.json")}: hook_map has no entry for blocks.${i}.hook_resid_post`);
  const tokenizerJson = readJson<Record<string, unknown>>(dir, "tokenizer.json", true)!;
  const tokenizerConfig = readJson<TokenizerConfig>(dir, "tokenizer_config.json", false) ?? {};
  const preprocessor = readJson<PreprocessorConfig>(dir, "preprocessor_config.json", true)!;
  const config = readJson<Record<string, unknown>>(dir, "config.json", false) ?? {};
  const generationConfig = readJson<Bundle["generationConfig"]>(dir, "generation_config.json", false);
  const onnx = { vision: join(dir, BUNDLE_ONNX.vision), embed: join(dir, BUNDLE_ONNX.embed), decoder: join(dir, BUNDLE_ONNX.decoder) };
  for (const [k, p] of Object.entries(onnx))
    if (!existsSync(p)) throw new Error(`bundle ${dir} is missing ${BUNDLE_ONNX[k as keyof typeof BUNDLE_ONNX]}; re-export it with tools/export`);
  const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
  return { dir, name, meta, config, tokenizerJson, tokenizerConfig, preprocessor, generationConfig, onnx };
}
