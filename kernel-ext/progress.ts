// An in-place progress bar for long sweeps. In a live JupyterLab session it is one output updated in place
// (tslab display ids: update_display_data); headless (nbconvert, a plain node script) it prints a text line at
// most every `textEveryMs` (default 10 s) plus a final line, so logs stay short.
import { randomBytes } from "node:crypto";
import { displayBundle, isHeadless } from "./display";

export interface ProgressOptions {
  /** What is being counted, e.g. "mirror-swap images". */
  label?: string;
  /** Minimum time between in-place updates (default 200 ms). */
  updateEveryMs?: number;
  /** Minimum time between headless text lines (default 10 000 ms). */
  textEveryMs?: number;
  /** Force a mode; default: "text" when headless, else "display". */
  mode?: "display" | "text";
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export class Progress {
  readonly total: number;
  readonly label: string;
  readonly mode: "display" | "text";
  private doneCount = 0;
  private readonly start: number;
  private lastShown = -Infinity;
  private readonly displayId = randomBytes(8).toString("hex");
  private shownOnce = false;
  private finished = false;
  private readonly opts: Required<Pick<ProgressOptions, "updateEveryMs" | "textEveryMs" | "now">>;

  constructor(total: number, options: ProgressOptions = {}) {
    if (!Number.isFinite(total) || total < 0) throw new Error(`progress: total must be a number ≥ 0, got ${total}`);
    this.total = total;
    this.label = options.label ?? "progress";
    this.mode = options.mode ?? (isHeadless() ? "text" : "display");
    this.opts = { updateEveryMs: options.updateEveryMs ?? 200, textEveryMs: options.textEveryMs ?? 10_000, now: options.now ?? Date.now };
    this.start = this.opts.now();
    this.render(true);
  }

  /** Items done so far. */
  get value(): number {
    return this.doneCount;
  }

  /** Marks n more items done. */
  tick(n = 1): void {
    this.set(this.doneCount + n);
  }

  /** Sets the number of items done. */
  set(done: number): void {
    this.doneCount = Math.min(this.total, Math.max(0, done));
    this.render(false);
  }

  /** Ends the bar (shows 100 % or where it stopped, and the elapsed time). */
  done(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.render(true, message ?? "done");
  }

  /** One line of text describing the state, e.g. "mirror-swap images: 37/100 (37%) 12s elapsed, ~21s left". */
  text(final?: string): string {
    const elapsed = this.opts.now() - this.start;
    const pct = this.total === 0 ? 100 : Math.floor((100 * this.doneCount) / this.total);
    let eta = "";
    if (!final && this.doneCount > 0 && this.doneCount < this.total) {
      eta = `, ~${duration((elapsed / this.doneCount) * (this.total - this.doneCount))} left`;
    }
    return `${this.label}: ${this.doneCount}/${this.total} (${pct}%) ${duration(elapsed)} elapsed${eta}${final ? ` — ${final}` : ""}`;
  }

  private render(force: boolean, final?: string): void {
    const now = this.opts.now();
    const every = this.mode === "text" ? this.opts.textEveryMs : this.opts.updateEveryMs;
    if (!force && now - this.lastShown < every && this.doneCount < this.total) return;
    if (this.mode === "text") {
      // Headless: the first line, periodic lines, and the final line only.
      if (!force && this.doneCount >= this.total && final === undefined) return;
      this.lastShown = now;
      displayBundle({ "text/plain": this.text(final) });
      return;
    }
    this.lastShown = now;
    const html =
      `<div class="linmech-progress" style="font-family:sans-serif;font-size:12px;display:flex;gap:8px;align-items:center">` +
      `<progress value="${this.doneCount}" max="${Math.max(this.total, 1)}" style="width:240px"></progress>` +
      `<span>${escapeHtml(this.text(final))}</span></div>`;
    displayBundle({ "text/html": html, "text/plain": this.text(final) }, { displayId: this.displayId, update: this.shownOnce });
    this.shownOnce = true;
  }
}

/** Creates a progress bar for `total` items. */
export function progress(total: number, labelOrOptions?: string | ProgressOptions): Progress {
  return new Progress(total, typeof labelOrOptions === "string" ? { label: labelOrOptions } : labelOrOptions);
}

/** Iterates over items while showing progress; the bar completes when the loop ends normally. */
export function* withProgress<T>(items: readonly T[], labelOrOptions?: string | ProgressOptions): Generator<T> {
  const bar = progress(items.length, labelOrOptions);
  for (const item of items) {
    yield item;
    bar.tick();
  }
  bar.done();
}
