// show(x): the one call that displays anything in a notebook — a widget spec, a result with toWidget(), an
// experiment result linmech knows (figures.ts: mirror swap, spatial IDs, ψ fit, adversarial steering,
// steerability), an arquero table (as an HTML table), or any other value (as text). Figures become ONE bundle: the
// widget's JSON (drawn by the @linmech/widgets JupyterLab extension) + text/plain summary; `npm run figures` adds
// image/png later.
import { inspect } from "node:util";
import { WIDGET_MIME, WidgetSpec, isWidgetKind, summarizeSpec, validateSpec } from "@linmech/widgets/spec";
import { MimeBundle, displayBundle } from "./display";
import { resultWidget } from "./figures";

/** Anything that knows how to draw itself as a widget (experiment results implement this). */
export interface ToWidget {
  toWidget(): WidgetSpec;
}

/** The part of an arquero table that show() uses. */
export interface TableLike {
  numRows(): number;
  numCols(): number;
  columnNames(): string[];
  toHTML(options?: { limit?: number }): string;
}

export interface ShowOptions {
  /** Rows of a table to show (default 20). */
  limit?: number;
}

export function isToWidget(x: unknown): x is ToWidget {
  return typeof x === "object" && x !== null && typeof (x as { toWidget?: unknown }).toWidget === "function";
}

export function isTableLike(x: unknown): x is TableLike {
  const t = x as Partial<TableLike> | null;
  return typeof x === "object" && x !== null && typeof t?.toHTML === "function" && typeof t?.numRows === "function" &&
    typeof t?.columnNames === "function";
}

export function looksLikeSpec(x: unknown): x is WidgetSpec {
  return typeof x === "object" && x !== null && isWidgetKind((x as { kind?: unknown }).kind);
}

/** The display bundle of a widget spec (validated; throws SpecError listing every problem). */
export function widgetBundle(spec: WidgetSpec): MimeBundle {
  const valid = validateSpec(spec);
  return { [WIDGET_MIME]: JSON.parse(JSON.stringify(valid)) as unknown, "text/plain": summarizeSpec(valid) };
}

/** The display bundle of a table: an HTML table of the first `limit` rows + a text summary. */
export function tableBundle(t: TableLike, limit = 20): MimeBundle {
  const cols = t.columnNames();
  const head = `table: ${t.numRows()} rows × ${t.numCols()} columns (${cols.join(", ")})`;
  const more = t.numRows() > limit ? `<div style="font-size:12px;color:#555">first ${limit} of ${t.numRows()} rows</div>` : "";
  return { "text/html": `${t.toHTML({ limit })}${more}`, "text/plain": head };
}

/** Displays x as one output (see the module comment for what each kind of value becomes). */
export function show(x: unknown, options: ShowOptions = {}): void {
  let spec: WidgetSpec | undefined;
  if (isToWidget(x)) {
    displayBundle(widgetBundle(x.toWidget()));
  } else if (looksLikeSpec(x)) {
    displayBundle(widgetBundle(x));
  } else if ((spec = resultWidget(x)) !== undefined) {
    // an experiment result (mirror-swap summary, projected ID grids, ψ fit, adversarial summaries, steerability points)
    displayBundle(widgetBundle(spec));
  } else if (isTableLike(x)) {
    displayBundle(tableBundle(x, options.limit ?? 20));
  } else if (typeof x === "string") {
    displayBundle({ "text/plain": x });
  } else {
    displayBundle({ "text/plain": inspect(x, { depth: 4, maxArrayLength: 50, breakLength: 120 }) });
  }
}
