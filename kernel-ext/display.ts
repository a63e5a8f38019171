// Low-level output: sends one display bundle (several MIME types in ONE output) through tslab's kernel, or prints
// its text/plain part when there is no kernel (a plain `node` script, a test). tslab's public API sends a single
// MIME type per call, so we use the kernel's own writer: `lastWriteDisplayData` of the tslab module that is already
// loaded in this process (found in require.cache, so a second copy of tslab in node_modules cannot shadow it).
import { sep } from "node:path";

/** MIME type → data (JSON MIME types take objects; text and base64 images take strings). */
export type MimeBundle = Record<string, unknown>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (msg: DisplayMessage, update: boolean) => void;

const TSLAB_JUPYTER = `${sep}tslab${sep}dist${sep}jupyter.js`;

/** The running tslab kernel's display writer for the current cell, or undefined outside a tslab kernel. */
function kernelWriter(): WriteDisplayData | undefined {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!file.endsWith(TSLAB_JUPYTER)) continue;
    const exported = mod?.exports as { lastWriteDisplayData?: unknown } | undefined;
    if (typeof exported?.lastWriteDisplayData === "function") return exported.lastWriteDisplayData as WriteDisplayData;
  }
  return undefined;
}

/** True inside a tslab kernel that is executing a cell (rich output possible). */
export function inKernel(): boolean {
  return kernelWriter() !== undefined;
}

/**
 * True when nobody watches the notebook live: no kernel at all, a kernel started by nbconvert/nbclient (JupyterLab
 * sets JPY_SESSION_NAME for the kernels it starts; nbclient does not), or LINMECH_PROGRESS=text.
 */
export function isHeadless(): boolean {
  if (process.env.LINMECH_PROGRESS === "text") return true;
  if (process.env.LINMECH_PROGRESS === "display") return !inKernel();
  return !inKernel() || process.env.JPY_SESSION_NAME === undefined;
}

/** Where text goes when there is no kernel (tests replace it). */
export let textSink: (text: string) => void = (text) => {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
};
export function setTextSink(sink: (text: string) => void): void {
  textSink = sink;
}

/** Shows a bundle as one output; with `displayId`, later calls with `update: true` replace it in place. */
export function displayBundle(data: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): void {
  const write = kernelWriter();
  if (!write) {
    const text = data["text/plain"];
    textSink(typeof text === "string" ? text : JSON.stringify(data, null, 1).slice(0, 2000));
    return;
  }
  write({ data, metadata: {}, transient: opts.displayId ? { display_id: opts.displayId } : {} }, opts.update === true);
}
