// Universal spatial IDs as a reusable artefact: save them once (fig05 notebook / spatialIds experiment), load them in
// the steering experiments (Fig 2, 6, 7, 8a).
//
// FORMAT (version 1) — two files with a common base path B:
//   B.safetensors  float32 tensors (little-endian, safetensors layout; loads in Python with
//                  `safetensors.numpy.load_file(B + ".safetensors")`):
//                    "ids.<site>"     shape [m, m, dim]: U(x, y) at index [y][x] (row y = 0 top, column x = 0 left),
//                                     one per site, e.g. "ids.hook_embed", "ids.blocks.3.hook_resid_post"
//                    "axes.h.<site>"  shape [dim]: h_L, mean within-row difference U(x2, y) − U(x1, y), x1 < x2
//                                     (points right; no x1 = x2 zero terms, see spatialIds.ts)
//                    "axes.v.<site>"  shape [dim]: v_L, the same over rows (points DOWN, row index grows downward)
//                  The safetensors __metadata__ holds {"format": "linmech.universal-ids", "version": "1",
//                  "model": <bundle name>}.
//   B.json         sidecar: { format: "linmech.universal-ids", version: 1, model, m, dim, sites: [site...],
//                  cellOrder: "ids[y][x], x = column (0 = left), y = row (0 = top)", siteConvention, tensors: {...},
//                  info: { objects, pairs, sizes, canvas, question, centring, ... } }.
// Sites use the engine's names: "hook_embed" = HF hidden_states[0], "blocks.i.hook_resid_post" = hidden_states[i+1]
// (the authors key their universal IDs by the hidden_states index, Convention A: their "layer L" = our site
// resid(L − 1)). Values are stored as float32 (computed in float64).
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readSafetensors, writeSafetensors, type NamedTensor } from "../util/safetensors";
import { repoRoot } from "../util/paths";
import { bundleChain, resolveBundleFile } from "../engine/bundle";
import type { SpatialIdGrid } from "../analysis/spatialIds";
import type { SiteName } from "../engine/sites";

export const UNIVERSAL_IDS_FORMAT = "linmech.universal-ids";
export const UNIVERSAL_IDS_VERSION = 1;

export interface UniversalIds {
  model: string;
  m: number;
  dim: number;
  /** sites in order */
  sites: SiteName[];
  /** site → grid of universal IDs (cell (x, y) in row y·m + x) */
  grids: Record<string, SpatialIdGrid>;
  /** site → axes h (right) and v (down) */
  axes: Record<string, { h: Float64Array; v: Float64Array }>;
  /** provenance (objects, pairs, sizes, canvas, question, centring, …), free-form JSON */
  info: Record<string, unknown>;
}

export interface UniversalIdsSidecar {
  format: typeof UNIVERSAL_IDS_FORMAT;
  version: number;
  model: string;
  m: number;
  dim: number;
  sites: string[];
  cellOrder: string;
  siteConvention: string;
  tensors: { ids: string; axesH: string; axesV: string };
  info: Record<string, unknown>;
}

/** Default base path of a model's artefact: out/universal-ids/<model>[-<variant>]. */
export function universalIdsPath(model: string, variant?: string): string {
  return join(repoRoot(), "out", "universal-ids", variant ? `${model}-${variant}` : model);
}

const stripExt = (p: string): string => p.replace(/\.(safetensors|json)$/, "");

/** Writes B.safetensors and B.json (B = base path without extension); returns both paths. */
export function saveUniversalIds(basePath: string, u: UniversalIds): { safetensors: string; json: string } {
  const base = stripExt(basePath);
  if (u.sites.length === 0) throw new Error("saveUniversalIds: no sites");
  const tensors: Record<string, NamedTensor> = {};
  for (const site of u.sites) {
    const g = u.grids[site];
    if (!g) throw new Error(`saveUniversalIds: no grid for site ${site}`);
    if (g.m !== u.m || g.dim !== u.dim || g.data.length !== u.m * u.m * u.dim)
      throw new Error(`saveUniversalIds: grid of ${site} is ${g.m}×${g.m}×${g.dim}, expected ${u.m}×${u.m}×${u.dim}`);
    tensors[`ids.${site}`] = { shape: [u.m, u.m, u.dim], data: Float32Array.from(g.data) };
    const a = u.axes[site];
    if (!a) throw new Error(`saveUniversalIds: no axes for site ${site}`);
    tensors[`axes.h.${site}`] = { shape: [u.dim], data: Float32Array.from(a.h) };
    tensors[`axes.v.${site}`] = { shape: [u.dim], data: Float32Array.from(a.v) };
  }
  mkdirSync(dirname(base), { recursive: true });
  const st = `${base}.safetensors`, js = `${base}.json`;
  writeSafetensors(st, { tensors, metadata: { format: UNIVERSAL_IDS_FORMAT, version: String(UNIVERSAL_IDS_VERSION), model: u.model } });
  const sidecar: UniversalIdsSidecar = {
    format: UNIVERSAL_IDS_FORMAT,
    version: UNIVERSAL_IDS_VERSION,
    model: u.model,
    m: u.m,
    dim: u.dim,
    sites: u.sites,
    cellOrder: "ids[y][x], x = column (0 = left), y = row (0 = top)",
    siteConvention: "hook_embed = HF hidden_states[0]; blocks.i.hook_resid_post = hidden_states[i+1]",
    tensors: { ids: "ids.<site> [m, m, dim]", axesH: "axes.h.<site> [dim] (points right)", axesV: "axes.v.<site> [dim] (points down)" },
    info: u.info,
  };
  writeFileSync(js, JSON.stringify(sidecar, null, 2) + "\n");
  return { safetensors: st, json: js };
}

/** Loads an artefact written by saveUniversalIds (pass the base path, or either file). */
export function loadUniversalIds(path: string): UniversalIds {
  const base = stripExt(path);
  const js = `${base}.json`, st = `${base}.safetensors`;
  for (const f of [js, st])
    if (!existsSync(f)) throw new Error(`universal IDs: ${f} not found; run the fig05-spatial-ids notebook (or saveUniversalIds) first`);
  let side: UniversalIdsSidecar;
  try {
    side = JSON.parse(readFileSync(js, "utf8"));
  } catch (e) {
    throw new Error(`universal IDs: ${js} is not valid JSON (${(e as Error).message})`);
  }
  if (side.format !== UNIVERSAL_IDS_FORMAT) throw new Error(`universal IDs: ${js} has format ${JSON.stringify(side.format)}, expected "${UNIVERSAL_IDS_FORMAT}"`);
  if (side.version !== UNIVERSAL_IDS_VERSION) throw new Error(`universal IDs: ${js} is version ${side.version}; this linmech reads version ${UNIVERSAL_IDS_VERSION}`);
  const file = readSafetensors(st);
  const { m, dim } = side;
  const grids: Record<string, SpatialIdGrid> = {};
  const axes: Record<string, { h: Float64Array; v: Float64Array }> = {};
  const get = (name: string, shape: number[]): Float32Array => {
    const t = file.tensors[name];
    if (!t) throw new Error(`universal IDs: ${st} lacks tensor "${name}" listed by ${js}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new Error(`universal IDs: tensor "${name}" has shape [${t.shape}], the sidecar implies [${shape}]`);
    return t.data;
  };
  for (const site of side.sites) {
    grids[site] = { m, dim, data: Float64Array.from(get(`ids.${site}`, [m, m, dim])) };
    axes[site] = { h: Float64Array.from(get(`axes.h.${site}`, [dim])), v: Float64Array.from(get(`axes.v.${site}`, [dim])) };
  }
  return { model: side.model, m, dim, sites: side.sites as SiteName[], grids, axes, info: side.info ?? {} };
}

/**
 * Content hash of a bundle's weights and config (linmech.json + the three ONNX graphs; files over 64 MB, e.g. external
 * data of a 7B model, contribute their size and first/last MiB). Stored in an ID artefact's info (`bundleHash`), so
 * IDs computed on a retrained or re-exported bundle of the same name and width are never reused. A derived bundle
 * (linmech.json "base", engine/bundle.ts) hashes the files it resolves to (its own, else its base's), plus the base's
 * linmech.json, so it differs from its base exactly when a resolved file does.
 */
export function bundleHash(dir: string): string {
  const h = createHash("sha256");
  const chain = bundleChain(dir);
  for (const f of ["linmech.json", "onnx/vision_encoder.onnx", "onnx/embed_tokens.onnx", "onnx/decoder_model_merged.onnx"]) {
    const p = resolveBundleFile(dir, f, chain);
    if (!p) continue;
    const size = statSync(p).size;
    h.update(`${f}:${size}:`);
    if (size <= 64 * 2 ** 20) h.update(readFileSync(p));
    else {
      const fd = openSync(p, "r");
      try {
        const buf = Buffer.alloc(2 ** 20);
        readSync(fd, buf, 0, buf.length, 0);
        h.update(buf);
        readSync(fd, buf, 0, buf.length, size - buf.length);
        h.update(buf);
      } finally {
        closeSync(fd);
      }
    }
  }
  for (const base of chain.slice(1)) h.update(readFileSync(join(base, "linmech.json")));
  return h.digest("hex").slice(0, 16);
}
