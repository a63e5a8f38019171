// run(fn): runs a cell's body and turns a thrown error into ONE readable message. The error is rethrown as a
// NotebookError whose stack is just "Error: <message>" (+ cause chain and the first frame in the notebook), so
// tslab prints a short message instead of a long stack of library frames; the cell is still marked failed (a
// headless run stops, as it should) and the kernel stays alive with all earlier variables.
import { dirname, sep } from "node:path";
export class NotebookError extends Error {
  /** The error that fn threw (non-enumerable, so printing the NotebookError does not dump it). */
  declare readonly original: unknown;
  constructor(message: string, original: unknown) {
    super(message);
    // non-enumerable, so tslab's util.inspect of the error prints only the message (not a trailing "{ name: ... }")
    Object.defineProperty(this, "name", { value: "NotebookError", enumerable: false, configurable: true, writable: true });
    Object.defineProperty(this, "original", { value: original, enumerable: false });
  }
}

function causeChain(e: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      out.push(`${cur.name === "Error" ? "" : cur.name + ": "}${cur.message}`);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      out.push(String(cur));
      break;
    }
  }
  return out;
}

/** Folders of linmech's own packages (workspace links resolve outside node_modules): their frames are not "where". */
let libDirs: string[] | undefined;
function libraryDirs(): string[] {
  if (!libDirs) {
    libDirs = [__dirname.replace(/[\\/]dist$/, "")];
    for (const pkg of ["linmech/package.json", "@linmech/widgets/package.json"]) {
      try {
        libDirs.push(dirname(require.resolve(pkg)));
      } catch {
        // not installed: nothing to filter
      }
    }
    libDirs = libDirs.map((d) => d + sep);
  }
  return libDirs;
}

/** Formats any thrown value as a short readable message (message, causes, where in the notebook it happened). */
export function readableError(e: unknown): string {
  const [head, ...causes] = causeChain(e);
  const lines = [head ?? "unknown error"];
  for (const c of causes) lines.push(`  caused by: ${c}`);
  if (e instanceof Error && e.stack) {
    // tslab compiles cells to files named like "<cell>" or "[n]": report the first frame outside node_modules.
    const lib = libraryDirs();
    const frame = e.stack.split("\n").slice(1).map((l) => l.trim())
      .find((l) => l.startsWith("at ") && !l.includes("node_modules") && !l.includes("node:") && !lib.some((d) => l.includes(d)));
    if (frame) lines.push(`  ${frame}`);
  }
  return lines.join("\n");
}

/**
 * Runs fn (sync or async) and returns its result. On error, throws a NotebookError with a short, readable stack,
 * so the notebook shows one message.
 */
export async function run<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = new NotebookError(readableError(e), e);
    err.stack = `Error: ${err.message}`;
    throw err;
  }
}
