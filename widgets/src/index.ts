// The JupyterLab 4 MIME-renderer extension: one Lumino widget class, one renderer factory, one extension object.
// Outputs whose bundle carries WIDGET_MIME are drawn by the registry; without this extension JupyterLab shows the
// bundle's image/png (or text/plain).
import { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import { WIDGET_MIME } from "../spec/index";
import { RenderedWidget, renderWidget } from "./registry";

const CLASS_NAME = "linmech-output";

export class LinmechOutput extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private handle: RenderedWidget | undefined;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS_NAME);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.handle?.dispose();
    this.node.textContent = "";
    this.handle = await renderWidget(this.node, model.data[this.mimeType]);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.handle?.resize();
  }

  protected onAfterShow(): void {
    this.handle?.resize();
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.handle?.dispose();
    this.handle = undefined;
    super.dispose();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  // Safe: specs are data only; text is inserted with textContent or plotly's sanitising text engine.
  safe: true,
  mimeTypes: [WIDGET_MIME],
  createRenderer: (options) => new LinmechOutput(options),
};

const extension: IRenderMime.IExtension = {
  id: "@linmech/widgets:plugin",
  rendererFactory,
  rank: 0,
  dataType: "json",
};

export default extension;
