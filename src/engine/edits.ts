// Edits are plain, JSON-able data (pyvene style): where (site + positions) and what (values or a vector).
// A sweep is a list of edit sets; they can be stored, batched, or sent to a worker.
import { SiteName, siteLayer } from "./sites";

/** Set the residual stream at `positions` to `values[k]` (one vector per position). */
export interface ReplaceEdit {
  op: "replace";
  site: SiteName;
  positions: number[];
  values: number[][];
}
/** Add `vector` to the residual stream at every one of `positions`. */
export interface AddEdit {
  op: "add";
  site: SiteName;
  positions: number[];
  vector: number[];
}
export type Edit = ReplaceEdit | AddEdit;

/** Anything with numbered rows: number[][], Float32Array[], or a traced `Activations` (its rows, in order). */
export type VectorRows = ArrayLike<number>[] | { rows(): Float32Array[] };

const toPositions = (p: number | number[]): number[] => (Array.isArray(p) ? [...p] : [p]);

/**
 * replace(site, positions, values): values has one vector per position (e.g. `clean.get(site)` of another run
 * traced at the same positions). One vector with several positions replaces each of them by it.
 */
export function replace(site: SiteName, positions: number | number[], values: VectorRows | ArrayLike<number>): ReplaceEdit {
  const pos = toPositions(positions);
  let rows: ArrayLike<number>[];
  if (typeof (values as { rows?: unknown }).rows === "function") rows = (values as { rows(): Float32Array[] }).rows();
  else if (typeof (values as ArrayLike<unknown>)[0] === "number") rows = pos.map(() => values as ArrayLike<number>);
  else rows = values as ArrayLike<number>[];
  if (rows.length !== pos.length)
    throw new Error(`replace at ${site}: ${rows.length} value vectors for ${pos.length} positions (one vector per position)`);
  return { op: "replace", site, positions: pos, values: rows.map((r) => Array.from(r)) };
}

/** add(site, positions, vector): adds the same vector at every position (steering). */
export function add(site: SiteName, positions: number | number[], vector: ArrayLike<number>): AddEdit {
  return { op: "add", site, positions: toPositions(positions), vector: Array.from(vector) };
}

/** Checks one edit against the model and the input length; the message names the edit and what is wrong. */
export function validateEdit(e: Edit, numLayers: number, width: number, seqLen: number): number {
  if (!e || (e.op !== "replace" && e.op !== "add"))
    throw new Error(`edit ${JSON.stringify(e)?.slice(0, 80)} is not a replace(...) or add(...) edit`);
  const layer = siteLayer(e.site, numLayers);
  if (!Array.isArray(e.positions) || e.positions.length === 0) throw new Error(`${e.op} at ${e.site}: no positions`);
  for (const p of e.positions)
    if (!Number.isInteger(p) || p < 0 || p >= seqLen)
      throw new Error(`${e.op} at ${e.site}: position ${p} is outside the input (0..${seqLen - 1})`);
  const vectors = e.op === "add" ? [e.vector] : e.values;
  for (const v of vectors) {
    if (!v || v.length !== width)
      throw new Error(`${e.op} at ${e.site}: vector of width ${v?.length ?? 0}, the model's residual stream has width ${width}`);
    for (let k = 0; k < v.length; k++)
      if (!Number.isFinite(v[k]))
        throw new Error(`${e.op} at ${e.site}: the vector has a non-finite value (${v[k]}) at index ${k}`);
  }
  return layer;
}

/** Per (layer, position): the net edit, combined in listed order (replace then add = replaced value + vector). */
export interface MergedEdit {
  replace: boolean;
  value: Float32Array;
}
export type MergedEdits = Map<number, Map<number, MergedEdit>>;

export function mergeEdits(edits: Edit[], numLayers: number, width: number, seqLen: number): MergedEdits {
  const out: MergedEdits = new Map();
  for (const e of edits) {
    const layer = validateEdit(e, numLayers, width, seqLen);
    let m = out.get(layer);
    if (!m) out.set(layer, (m = new Map()));
    e.positions.forEach((p, k) => {
      const v = e.op === "add" ? e.vector : e.values[k];
      const cur = m!.get(p);
      if (e.op === "replace") m!.set(p, { replace: true, value: Float32Array.from(v) });
      else if (!cur) m!.set(p, { replace: false, value: Float32Array.from(v) });
      else for (let j = 0; j < width; j++) cur.value[j] += v[j];
    });
  }
  return out;
}

/** Smallest edited position, or Infinity. */
export function firstEditedPosition(edits: Edit[]): number {
  let p = Infinity;
  for (const e of edits) for (const q of e.positions) p = Math.min(p, q);
  return p;
}
