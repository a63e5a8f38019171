// Spatial-ID map: a 2-D projection of vectors labelled by grid cell (column, row), coloured with the bivariate
// grid colour map (hue = column, lightness = row), optional text markers ("L", "R"), explained variance in the
// title, and a layer slider when several layers are given (the paper's Fig 5 and Fig 10b).
import { Checker } from "./validate";
import { COMMON_KEYS, Cell, CommonOptions, GridSize, checkCell, checkCommon, checkGrid, fmt } from "./common";
import { Projection, projectOntoPlane, projectPca } from "./projection";

export interface SpatialPoint extends Cell {
  x: number;
  y: number;
  /** Hover text (defaults to "(column, row)"). */
  label?: string;
}

export interface TextMarker {
  /** Short text drawn at (x, y), e.g. "L" for the projection of the word "left". */
  text: string;
  x: number;
  y: number;
}

export interface SpatialLayer {
  /** Layer index shown on the slider and in the title. */
  layer: number;
  points: SpatialPoint[];
  markers?: TextMarker[];
  /** Share of variance explained by the 2-D projection (0..1), shown in the title as "Explained: 0.83". */
  explained?: number;
}

export interface SpatialMapSpec extends CommonOptions {
  kind: "spatial-map";
  /** Grid the cells come from (default 4 × 4); sets the colour map's row scale. */
  grid?: GridSize;
  /** One entry per layer; more than one adds a layer slider. */
  layers: SpatialLayer[];
  /** Index into `layers` shown first (default 0). */
  initialLayer?: number;
  /** Draw the y axis downwards so row 0 is at the top, as in the image (default true). */
  invertY?: boolean;
  xLabel?: string;
  yLabel?: string;
  /** Marker size in px (default 16). */
  markerSize?: number;
}

export function checkSpatialMap(c: Checker, o: Record<string, unknown>): void {
  c.keys(o, "", [...COMMON_KEYS, "grid", "layers", "initialLayer", "invertY", "xLabel", "yLabel", "markerSize"]);
  checkCommon(c, o);
  const grid = checkGrid(c, o.grid, "grid");
  const layers = c.array(o.layers, "layers", { min: 1 });
  layers?.forEach((l, i) => {
    const p = `layers[${i}]`;
    const lo = c.object(l, p);
    if (!lo) return;
    c.keys(lo, p, ["layer", "points", "markers", "explained"]);
    c.number(lo.layer, `${p}.layer`);
    c.array(lo.points, `${p}.points`, { min: 1 })?.forEach((pt, j) => {
      checkCell(c, pt, `${p}.points[${j}]`, grid, ["x", "y", "label"]);
      const po = pt as Record<string, unknown>;
      if (typeof po !== "object" || po === null) return;
      c.number(po.x, `${p}.points[${j}].x`);
      c.number(po.y, `${p}.points[${j}].y`);
      c.optional(po, "label", (v) => c.string(v, `${p}.points[${j}].label`));
    });
    c.optional(lo, "markers", (v) =>
      c.array(v, `${p}.markers`)?.forEach((m, j) => {
        const mo = c.object(m, `${p}.markers[${j}]`);
        if (!mo) return;
        c.keys(mo, `${p}.markers[${j}]`, ["text", "x", "y"]);
        c.string(mo.text, `${p}.markers[${j}].text`, { nonEmpty: true });
        c.number(mo.x, `${p}.markers[${j}].x`);
        c.number(mo.y, `${p}.markers[${j}].y`);
      }),
    );
    c.optional(lo, "explained", (v) => c.number(v, `${p}.explained`, { min: 0, max: 1.000001 }));
  });
  c.optional(o, "initialLayer", (v) =>
    c.number(v, "initialLayer", { integer: true, min: 0, max: Math.max(0, (layers?.length ?? 1) - 1) }),
  );
  c.optional(o, "invertY", (v) => c.boolean(v, "invertY"));
  c.optional(o, "xLabel", (v) => c.string(v, "xLabel"));
  c.optional(o, "yLabel", (v) => c.string(v, "yLabel"));
  c.optional(o, "markerSize", (v) => c.number(v, "markerSize", { min: 1, max: 100 }));
}

export function summarizeSpatialMap(s: SpatialMapSpec): string {
  const head = `${s.title ?? "Spatial-ID map"} — ${s.layers[0].points.length} cells, ${s.layers.length} layer(s)`;
  const rows = s.layers.map((l) => {
    const explained = l.explained === undefined ? "" : `, explained ${fmt(l.explained, 2)}`;
    const markers = (l.markers ?? []).map((m) => ` ${m.text}=(${fmt(m.x, 2)}, ${fmt(m.y, 2)})`).join("");
    return `  layer ${l.layer}${explained}${markers}`;
  });
  return [head, ...rows].join("\n");
}

/** Input of `spatialLayerFromVectors`: the vectors of one layer, each labelled by its grid cell. */
export interface LabelledVectors {
  layer: number;
  cells: Cell[];
  vectors: ArrayLike<number>[];
  /** Project onto these two axes (e.g. the paper's h_L, v_L); PCA when omitted. */
  axes?: { x: ArrayLike<number>; y: ArrayLike<number> };
  /** Extra vectors drawn as text markers with the same projection (e.g. the word "left" → "L"). */
  markers?: { text: string; vector: ArrayLike<number> }[];
}

/**
 * Builds one layer of a spatial-ID map from raw vectors: projects cells and markers together onto the given
 * axes (Gram–Schmidt) or onto the cells' top two principal components, and records the explained share.
 */
export function spatialLayerFromVectors(input: LabelledVectors): SpatialLayer {
  if (input.cells.length !== input.vectors.length) {
    throw new Error(`spatialLayerFromVectors: ${input.cells.length} cells but ${input.vectors.length} vectors`);
  }
  const markers = input.markers ?? [];
  let proj: Projection;
  let markerCoords: [number, number][];
  if (input.axes) {
    proj = projectOntoPlane(input.vectors, input.axes.x, input.axes.y);
    markerCoords = markers.length ? projectOntoPlane(markers.map((m) => m.vector), input.axes.x, input.axes.y).coords : [];
  } else {
    // PCA on the cells only; markers are projected on the same (centred) components.
    const all = projectPcaWithExtras(input.vectors, markers.map((m) => m.vector));
    proj = all.cells;
    markerCoords = all.extras;
  }
  return {
    layer: input.layer,
    points: input.cells.map((cell, i) => ({ column: cell.column, row: cell.row, x: proj.coords[i][0], y: proj.coords[i][1] })),
    markers: markers.length ? markers.map((m, i) => ({ text: m.text, x: markerCoords[i][0], y: markerCoords[i][1] })) : undefined,
    explained: proj.explained,
  };
}

/** PCA fitted on `vectors`; `extras` are projected with the same mean and components. */
function projectPcaWithExtras(vectors: ArrayLike<number>[], extras: ArrayLike<number>[]): { cells: Projection; extras: [number, number][] } {
  const cells = projectPca(vectors);
  if (extras.length === 0) return { cells, extras: [] };
  // Recover the two unit components from the coordinates: component_k ∝ Σ_i coords[i][k] · (v_i − mean).
  const n = vectors.length, d = vectors[0].length;
  const mean = new Float64Array(d);
  for (const e of vectors) for (let j = 0; j < d; j++) mean[j] += e[j] / n;
  const comps = [0, 1].map((k) => {
    const w = new Float64Array(d);
    vectors.forEach((e, i) => {
      for (let j = 0; j < d; j++) w[j] += cells.coords[i][k] * (e[j] - mean[j]);
    });
    const norm = Math.sqrt(w.reduce((a, b) => a + b * b, 0));
    return norm > 0 ? w.map((x) => x / norm) : w;
  });
  const out = extras.map((e) => {
    if (e.length !== d) throw new Error(`spatialLayerFromVectors: marker vector has length ${e.length}, cells have ${d}`);
    return comps.map((w) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (e[j] - mean[j]) * w[j];
      return s;
    }) as [number, number];
  });
  return { cells, extras: out };
}
