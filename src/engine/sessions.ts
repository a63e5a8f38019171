// ONNX Runtime sessions of a bundle: vision encoder, token embeddings, and the decoder — instrumented once at load
// (or plain, for comparisons). Sessions are cached per (bundle folder, options) and shared by Model objects.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Bundle } from "./bundle";
import { instrumentDecoder } from "./instrument";
import { decodeModel, encodeModel } from "./onnxProto";

export type OptimizationLevel = "disabled" | "basic" | "extended" | "all";

export interface SessionOptions {
  /** intra-op threads (default 1: the engine batches instead) */
  threads?: number;
  /** ORT graph optimisation level (default "all"; sites stay exact at every level) */
  optimization?: OptimizationLevel;
  /** false: the bundle's decoder as is, without trace/patch sites (for comparisons) */
  instrumented?: boolean;
}

export interface BundleSessions {
  vision: ort.InferenceSession;
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
  instrumented: boolean;
  /** seconds spent instrumenting + creating sessions */
  loadSeconds: number;
}

const cache = new Map<string, Promise<BundleSessions>>();

function ortOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: o.optimization ?? "all",
    executionMode: "sequential",
    logSeverityLevel: 3,
  };
}

async function create(what: string, path: string | Uint8Array, opts: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return typeof path === "string" ? await ort.InferenceSession.create(path, opts) : await ort.InferenceSession.create(path, opts);
  } catch (e) {
    throw new Error(`${what} could not be loaded by ONNX Runtime (${(e as Error).message.split("\n")[0]}); re-export the bundle`);
  }
}

/** The instrumented decoder as bytes (small models) or as a file written beside external weights (large ones). */
function instrumentedDecoder(bundle: Bundle): string | Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(bundle.onnx.decoder);
  } catch (e) {
    throw new Error(`cannot read ${bundle.onnx.decoder} (${(e as Error).message})`);
  }
  const model = decodeModel(bytes, bundle.onnx.decoder);
  const m = bundle.meta;
  const sites = Array.from({ length: m.num_layers }, (_, i) => ({ layer: i, tensor: m.hook_map[`blocks.${i}.hook_resid_post`] }));
  const out = encodeModel(instrumentDecoder(model, { sites, hiddenSize: m.hidden_size }));
  const external = model.graph.initializer.some((t) => t.data_location === 1);
  if (!external) return out;
  // weights stay in their .onnx_data files; the edited graph must sit beside them for the relative paths
  const hash = createHash("sha1").update(out).digest("hex").slice(0, 12);
  const p = join(dirname(bundle.onnx.decoder), `${basename(bundle.onnx.decoder, ".onnx")}.linmech-${hash}.onnx`);
  if (!existsSync(p)) writeFileSync(p, out);
  return p;
}

export function openSessions(bundle: Bundle, o: SessionOptions = {}): Promise<BundleSessions> {
  const instrumented = o.instrumented ?? true;
  const key = JSON.stringify([bundle.dir, o.threads ?? 1, o.optimization ?? "all", instrumented]);
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const t0 = performance.now();
      const opts = ortOptions(o);
      const vision = await create(bundle.onnx.vision, bundle.onnx.vision, opts);
      const embed = await create(bundle.onnx.embed, bundle.onnx.embed, opts);
      const decoder = await create(bundle.onnx.decoder, instrumented ? instrumentedDecoder(bundle) : bundle.onnx.decoder, opts);
      return { vision, embed, decoder, instrumented, loadSeconds: (performance.now() - t0) / 1000 };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Releases cached sessions of a bundle folder (all option variants). */
export async function closeSessions(dir: string): Promise<void> {
  for (const [key, p] of [...cache]) {
    if (JSON.parse(key)[0] !== dir) continue;
    cache.delete(key);
    const s = await p.catch(() => undefined);
    if (s) await Promise.all([s.vision.release(), s.embed.release(), s.decoder.release()]);
  }
}
