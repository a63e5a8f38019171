// Small structural validator for widget specs: every check records a path ("panels[1].series[0].mean") and a
// message, so one SpecError lists everything wrong with a spec at once instead of failing on the first problem.

/** Thrown by `validateSpec` when a spec does not match its documented type; `problems` lists every mismatch. */
export class SpecError extends Error {
  readonly problems: string[];
  constructor(kind: string, problems: string[]) {
    super(
      `invalid ${kind} spec (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "SpecError";
    this.problems = problems;
  }
}

/** Collects problems while walking an unknown value. */
export class Checker {
  readonly problems: string[] = [];

  fail(path: string, msg: string): void {
    this.problems.push(`${path}: ${msg}`);
  }

  describe(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return `an array of length ${v.length}`;
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
    return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
  }

  object(v: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    this.fail(path, `expected an object, got ${this.describe(v)}`);
    return undefined;
  }

  array(v: unknown, path: string, opts: { min?: number; length?: number } = {}): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.fail(path, `expected an array, got ${this.describe(v)}`);
      return undefined;
    }
    if (opts.length !== undefined && v.length !== opts.length) {
      this.fail(path, `expected ${opts.length} entries, got ${v.length}`);
    } else if (opts.min !== undefined && v.length < opts.min) {
      this.fail(path, `expected at least ${opts.min} entr${opts.min === 1 ? "y" : "ies"}, got ${v.length}`);
    }
    return v;
  }

  /** A finite number (NaN/Infinity are rejected unless `allowNaN`, which also accepts null as a gap). */
  number(v: unknown, path: string, opts: { integer?: boolean; min?: number; max?: number; allowNaN?: boolean } = {}): boolean {
    if (opts.allowNaN && (v === null || (typeof v === "number" && Number.isNaN(v)))) return true;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.fail(path, `expected a finite number, got ${this.describe(v)}`);
      return false;
    }
    if (opts.integer && !Number.isInteger(v)) this.fail(path, `expected an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(path, `must be ≥ ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(path, `must be ≤ ${opts.max}, got ${v}`);
    return true;
  }

  numbers(v: unknown, path: string, opts: { length?: number; min?: number; allowNaN?: boolean; nonNegative?: boolean } = {}): void {
    const a = this.array(v, path, { length: opts.length, min: opts.min });
    if (!a) return;
    let reported = 0;
    for (let i = 0; i < a.length && reported < 3; i++) {
      const before = this.problems.length;
      this.number(a[i], `${path}[${i}]`, { allowNaN: opts.allowNaN, min: opts.nonNegative ? 0 : undefined });
      if (this.problems.length > before) reported++;
    }
  }

  string(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): boolean {
    if (typeof v !== "string") {
      this.fail(path, `expected a string, got ${this.describe(v)}`);
      return false;
    }
    if (opts.nonEmpty && v.trim() === "") this.fail(path, "must not be empty");
    return true;
  }

  boolean(v: unknown, path: string): void {
    if (typeof v !== "boolean") this.fail(path, `expected true or false, got ${this.describe(v)}`);
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): void {
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      this.fail(path, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${this.describe(v)}`);
    }
  }

  /** Rejects keys that the spec type does not have (catches typos such as `stds` for `std`). */
  keys(o: Record<string, unknown>, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        this.fail(path === "" ? k : `${path}.${k}`, `unknown field (allowed: ${allowed.join(", ")})`);
      }
    }
  }

  optional(o: Record<string, unknown>, key: string, check: (v: unknown) => void): void {
    if (o[key] !== undefined) check(o[key]);
  }

  /** A [min, max] pair with min < max. */
  range(v: unknown, path: string): void {
    const a = this.array(v, path, { length: 2 });
    if (!a || a.length !== 2) return;
    if (this.number(a[0], `${path}[0]`) && this.number(a[1], `${path}[1]`) && (a[0] as number) >= (a[1] as number)) {
      this.fail(path, `expected [min, max] with min < max, got [${a[0]}, ${a[1]}]`);
    }
  }

  /** A CSS colour as plotly accepts it: #rgb/#rrggbb, rgb()/rgba()/hsl(), or a plain colour name. */
  color(v: unknown, path: string): void {
    if (!this.string(v, path)) return;
    const s = (v as string).trim();
    if (!/^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([^)]*\)|[a-zA-Z]+)$/.test(s)) {
      this.fail(path, `expected a CSS colour (#rrggbb, rgb(...), or a name), got ${JSON.stringify(s)}`);
    }
  }
}
