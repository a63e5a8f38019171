// Colours shared by the widgets. The bivariate grid colour map follows reference-code-spec §1.4
// (`bivariate_color_map(x, y, x_max, y_max)`): base hue by column (0 red, 1 orange, 2 green, 3 blue: tab10
// indices 3, 1, 2, 0), HLS lightness by row: L = (1 − row/rows)·0.6 + 0.2, so row 0 is light (0.8) and row 3 of
// 4 is dark (0.35). Columns beyond 4 continue with the remaining tab10 hues.

/** matplotlib's tab10 palette (C0…C9). */
export const TAB10 = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
] as const;

const COLUMN_HUES = [TAB10[3], TAB10[1], TAB10[2], TAB10[0], TAB10[4], TAB10[5], TAB10[6], TAB10[8], TAB10[9], TAB10[7]];

function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as [number, number, number];
}

function toHex(rgb: readonly number[]): string {
  return "#" + rgb.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, "0")).join("");
}

/** RGB (0..1) → HLS (0..1), as Python's colorsys.rgb_to_hls. */
export function rgbToHls(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b), min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, l, 0];
  const d = max - min;
  const s = l <= 0.5 ? d / (max + min) : d / (2 - max - min);
  const rc = (max - r) / d, gc = (max - g) / d, bc = (max - b) / d;
  let h = r === max ? bc - gc : g === max ? 2 + rc - bc : 4 + gc - rc;
  h = (h / 6) % 1;
  if (h < 0) h += 1;
  return [h, l, s];
}

/** HLS (0..1) → RGB (0..1), as Python's colorsys.hls_to_rgb. */
export function hlsToRgb(h: number, l: number, s: number): [number, number, number] {
  if (s === 0) return [l, l, l];
  const m2 = l <= 0.5 ? l * (1 + s) : l + s - l * s;
  const m1 = 2 * l - m2;
  const v = (hue: number): number => {
    hue = ((hue % 1) + 1) % 1;
    if (hue < 1 / 6) return m1 + (m2 - m1) * hue * 6;
    if (hue < 0.5) return m2;
    if (hue < 2 / 3) return m1 + (m2 - m1) * (2 / 3 - hue) * 6;
    return m1;
  };
  return [v(h + 1 / 3), v(h), v(h - 1 / 3)];
}

/**
 * Colour of grid cell (column, row) in a grid of `columns` × `rows` cells, as "#rrggbb".
 * Hue encodes the column, lightness the row (light at the top, dark at the bottom).
 */
export function bivariateColor(column: number, row: number, rows = 4): string {
  const base = COLUMN_HUES[((column % COLUMN_HUES.length) + COLUMN_HUES.length) % COLUMN_HUES.length];
  const [h, , s] = rgbToHls(...hexToRgb(base));
  const l = (1 - row / rows) * 0.6 + 0.2;
  return toHex(hlsToRgb(h, l, s));
}

/** The base (unlightened) hue of a column, for legends. */
export function bivariateColumnColor(column: number): string {
  return COLUMN_HUES[((column % COLUMN_HUES.length) + COLUMN_HUES.length) % COLUMN_HUES.length];
}

/** A rainbow colour for item i of n (used for per-model and per-frame colours, like matplotlib's rainbow map). */
export function rainbowColor(i: number, n: number): string {
  const t = n <= 1 ? 0 : i / (n - 1);
  // matplotlib's 'rainbow' map = gnuplot formulas 33, 13, 10: r = |2t − 0.5|, g = sin(πt), b = cos(πt/2)
  const r = Math.abs(2 * t - 0.5);
  const g = Math.sin(Math.PI * t);
  const b = Math.cos((Math.PI / 2) * t);
  return toHex([r, g, b]);
}

/** Default colour of series i (tab10 cycle, like matplotlib's C0, C1, ...). */
export function seriesColor(i: number): string {
  return TAB10[i % TAB10.length];
}
