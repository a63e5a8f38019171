// Entry of the standalone bundle (lib/static/linmech-widgets.js) used to render a widget outside JupyterLab —
// by kernel-ext's addStaticImages in headless Chromium, so the PNG comes from the same renderer code.
// Plotly is external: the page loads plotly.min.js first, which defines window.Plotly.
import { renderWidget, RenderedWidget } from "./registry";
import { WIDGET_MIME } from "../spec/index";

declare global {
  interface Window {
    linmechWidgets?: { renderWidget: (host: HTMLElement, data: unknown) => Promise<RenderedWidget>; mime: string };
  }
}

window.linmechWidgets = { renderWidget, mime: WIDGET_MIME };
