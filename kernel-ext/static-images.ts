// Static PNGs of linmech widgets, drawn by the widgets' own renderer code in headless Chromium, so that notebooks
// read well where the JupyterLab extension is absent (nbconvert HTML, VS Code, GitHub).
//   addStaticImages("out/figures/fig04.ipynb")   // adds image/png to every widget output that lacks one
//   renderPng(spec)                               // one spec → PNG bytes
// Needs Debian's Chromium (/usr/bin/chromium, or LINMECH_CHROMIUM) and the built widget bundle
// (@linmech/widgets/lib/static/linmech-widgets.js, made by `bash scripts/bootstrap.sh`).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { WIDGET_MIME, WidgetSpec, validateSpec } from "@linmech/widgets/spec";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run",
];

/** Path of the Chromium binary, or a thrown error saying how to install it. */
export function chromiumPath(): string {
  const p = process.env.LINMECH_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(p)) {
    throw new Error(
      `Chromium not found at ${p}. Install Debian's Chromium (apt-get update && apt-get install -y chromium) or set ` +
        `LINMECH_CHROMIUM to a Chromium binary; linmech never downloads browsers.`,
    );
  }
  return p;
}

function widgetAsset(rel: string): string {
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve("@linmech/widgets/package.json"));
  } catch {
    throw new Error("@linmech/widgets is not installed: run `bash scripts/bootstrap.sh` in the linmech repository.");
  }
  const p = join(pkgDir, rel);
  if (!existsSync(p)) {
    throw new Error(`${p} is missing: build the widgets with \`bash scripts/bootstrap.sh\` (it runs widgets/scripts/install.sh).`);
  }
  return p;
}

export interface StaticRenderOptions {
  /** CSS width of the figure in px when the spec has none (default 860). */
  width?: number;
  /** Device pixel ratio of the PNG (default 2: crisp on high-DPI screens; shown at CSS size via metadata). */
  scale?: number;
  /** Per-figure time limit in ms (default 30 000). */
  timeoutMs?: number;
}

export interface RenderedPng {
  png: Buffer;
  /** CSS size of the figure (the PNG is `scale` times larger). */
  width: number;
  height: number;
}

/** One Chromium page with plotly and the widget bundle loaded; renders specs one after another. */
export class StaticRenderer {
  private constructor(private readonly browser: Browser, private readonly page: Page, private readonly opts: Required<StaticRenderOptions>) {}

  static async launch(options: StaticRenderOptions = {}): Promise<StaticRenderer> {
    const opts: Required<StaticRenderOptions> = { width: options.width ?? 860, scale: options.scale ?? 2, timeoutMs: options.timeoutMs ?? 30_000 };
    const plotlyJs = require.resolve("plotly.js-dist-min/plotly.min.js");
    const bundle = widgetAsset("lib/static/linmech-widgets.js");
    const css = readFileSync(widgetAsset("style/index.css"), "utf8");
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: opts.width + 40, height: 800 }, deviceScaleFactor: opts.scale });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.setContent(
        `<!doctype html><html><head><meta charset="utf-8"><style>${css}\nbody{margin:0;background:white}</style></head>` +
          `<body><div id="host" style="width:${opts.width}px;padding:8px"></div></body></html>`,
      );
      await page.addScriptTag({ path: plotlyJs });
      await page.addScriptTag({ path: bundle });
      await page.addScriptTag({
        content:
          "window.__linmechRender = async (data, width) => { const host = document.getElementById('host');" +
          " host.innerHTML = ''; host.style.width = width + 'px'; await window.linmechWidgets.renderWidget(host, data);" +
          " await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));" +
          " const err = host.querySelector('.linmech-error'); return err ? err.textContent : null; };",
      });
      if (errors.length > 0) throw new Error(`loading the widget bundle failed: ${errors.join("; ")}`);
      return new StaticRenderer(browser, page, opts);
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  /** Renders one spec (validated first; a SpecError lists the problems) to PNG. */
  async render(spec: WidgetSpec): Promise<RenderedPng> {
    const valid = validateSpec(spec);
    const width = valid.width ?? this.opts.width;
    const render = (args: [unknown, number]): Promise<string | null> =>
      (globalThis as unknown as { __linmechRender: (d: unknown, w: number) => Promise<string | null> }).__linmechRender(args[0], args[1]);
    const failure = await withTimeout(this.page.evaluate(render, [valid, width] as [unknown, number]), this.opts.timeoutMs, `rendering a ${valid.kind} figure`);
    if (failure) throw new Error(failure);
    const el = this.page.locator("#host .linmech-widget").first();
    const box = await el.boundingBox();
    const png = await el.screenshot({ type: "png", timeout: this.opts.timeoutMs, animations: "disabled" });
    return { png, width: Math.round(box?.width ?? width), height: Math.round(box?.height ?? 0) };
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Renders one spec to PNG bytes (launches and closes Chromium; use StaticRenderer for many). */
export async function renderPng(spec: WidgetSpec, options: StaticRenderOptions = {}): Promise<Buffer> {
  const r = await StaticRenderer.launch(options);
  try {
    return (await r.render(spec)).png;
  } finally {
    await r.close();
  }
}

interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}
interface Notebook {
  cells: { cell_type: string; outputs?: NotebookOutput[] }[];
}

export interface AddStaticImagesOptions extends StaticRenderOptions {
  /** Re-render outputs that already have an image/png (default: only those without). */
  force?: boolean;
}

export interface AddStaticImagesResult {
  /** Widget outputs found / PNGs written. */
  widgets: number;
  rendered: number;
}

/**
 * Adds an image/png (same figure, drawn by the widget renderer in headless Chromium) to every linmech widget output
 * of an executed notebook, in place. The bundle keeps the widget JSON and text/plain; PNG metadata records the CSS
 * size so viewers show it at its natural size.
 */
export async function addStaticImages(ipynbPath: string, options: AddStaticImagesOptions = {}): Promise<AddStaticImagesResult> {
  const nb = JSON.parse(readFileSync(ipynbPath, "utf8")) as Notebook;
  const targets: NotebookOutput[] = [];
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      if ((out.output_type === "display_data" || out.output_type === "execute_result") && out.data && out.data[WIDGET_MIME] !== undefined) {
        targets.push(out);
      }
    }
  }
  const todo = targets.filter((o) => options.force || o.data?.["image/png"] === undefined);
  if (todo.length === 0) return { widgets: targets.length, rendered: 0 };
  const renderer = await StaticRenderer.launch(options);
  try {
    for (const out of todo) {
      const data = out.data as Record<string, unknown>;
      const r = await renderer.render(data[WIDGET_MIME] as WidgetSpec);
      data["image/png"] = r.png.toString("base64");
      out.metadata = { ...(out.metadata ?? {}), "image/png": { width: r.width, height: r.height } };
    }
  } finally {
    await renderer.close();
  }
  const tmp = `${ipynbPath}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(nb, null, 1) + "\n");
  renameSync(tmp, ipynbPath);
  return { widgets: targets.length, rendered: todo.length };
}
