// The kernel extension without a kernel or browser: bundles, table display, spec validation errors, headless
// progress lines, readable errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import * as lm from "@linmech/kernel-ext";
import { setTextSink } from "@linmech/kernel-ext/dist/display";

function capture(fn: () => void): string[] {
  const lines: string[] = [];
  setTextSink((t) => lines.push(t));
  try {
    fn();
  } finally {
    setTextSink((t) => process.stdout.write(t.endsWith("\n") ? t : t + "\n"));
  }
  return lines;
}

const bars = {
  kind: "bars" as const,
  title: "flip rate",
  categories: ["a", "b", "c"],
  series: [{ name: "steered", values: [0.1, 0.5, 0.9], errors: [0.01, 0.02, 0.03] }],
};

test("kernel-ext: re-exports linmech's loadModel and the widget helpers", () => {
  assert.equal(typeof lm.loadModel, "function");
  assert.equal(typeof lm.widgets.validateSpec, "function");
  assert.deepEqual([...lm.widgets.WIDGET_KINDS].sort(), [
    "bars", "belief-shift", "error-scatter", "histograms", "intervention-lines", "psi-regression", "spatial-map", "steering-explorer",
  ]);
});

test("kernel-ext: a widget bundle carries the spec JSON and a text summary", () => {
  const b = lm.widgetBundle(bars);
  assert.deepEqual(Object.keys(b).sort(), [lm.WIDGET_MIME, "text/plain"].sort());
  assert.deepEqual(b[lm.WIDGET_MIME], bars);
  assert.match(String(b["text/plain"]), /flip rate/);
});

test("kernel-ext: an invalid spec throws one SpecError listing every problem", () => {
  const bad = { ...bars, series: [{ name: "", values: [0.1, Number.NaN], errors: [0.01, 0.02, 0.03] }] };
  assert.throws(
    () => lm.plot.bars(bad),
    (e: unknown) => {
      assert.ok(e instanceof lm.SpecError);
      assert.match(e.message, /^invalid bars spec \(\d+ problems\)/);
      assert.ok(e.problems.some((p) => p.startsWith("series[0].name")), e.message);
      assert.ok(e.problems.some((p) => p.startsWith("series[0].values")), e.message);
      return true;
    },
  );
  assert.throws(() => lm.show({ ...bars, categories: ["a"] }), /invalid bars spec/, "show() validates specs too");
});

test("kernel-ext: show() without a kernel prints text for specs, tables, results with toWidget() and values", () => {
  const t = aq.table({ model: ["x", "y", "z"], acc: [0.5, 0.6, 0.7] });
  const lines = capture(() => {
    lm.show(bars);
    lm.show({ toWidget: () => bars });
    lm.show(t);
    lm.show("plain words");
    lm.show({ a: 1 });
  });
  assert.equal(lines.length, 5);
  assert.match(lines[0], /flip rate/);
  assert.equal(lines[1], lines[0]);
  assert.equal(lines[2], "table: 3 rows × 2 columns (model, acc)");
  assert.equal(lines[3], "plain words");
  assert.equal(lines[4], "{ a: 1 }");
});

test("kernel-ext: tables become HTML tables limited to `limit` rows", () => {
  const t = aq.table({ i: Array.from({ length: 30 }, (_, k) => k) });
  const b = lm.tableBundle(t, 5);
  const html = String(b["text/html"]);
  assert.equal((html.match(/<tr/g) ?? []).length, 6, "header + 5 rows");
  assert.match(html, /first 5 of 30 rows/);
});

test("kernel-ext: headless progress prints a first line, at most one line per interval, and a final line", () => {
  let now = 0;
  const lines = capture(() => {
    const bar = lm.progress(100, { label: "images", mode: "text", textEveryMs: 10_000, now: () => now });
    for (let i = 0; i < 100; i++) {
      now += 500; // 50 s in total → lines at 10 s, 20 s, 30 s, 40 s at most
      bar.tick();
    }
    bar.done();
  });
  assert.match(lines[0], /^images: 0\/100 \(0%\) 0s elapsed$/);
  assert.match(lines[lines.length - 1], /^images: 100\/100 \(100%\) 50s elapsed — done$/);
  assert.ok(lines.length >= 4 && lines.length <= 6, `expected a handful of lines, got ${lines.length}:\n${lines.join("\n")}`);
  assert.ok(lines.slice(1, -1).every((l) => /left$/.test(l)), lines.join("\n"));
  assert.throws(() => lm.progress(Number.NaN), /total must be a number/);
});

test("kernel-ext: run() turns an error into one readable message with its causes", async () => {
  const inner = new Error("file data/models/toy/onnx/decoder.onnx is missing");
  await assert.rejects(
    lm.run(async () => {
      throw new Error('cannot load model "toy"', { cause: inner });
    }),
    (e: unknown) => {
      assert.ok(e instanceof lm.NotebookError);
      assert.match(e.message, /^cannot load model "toy"\n {2}caused by: file data\/models\/toy\/onnx\/decoder.onnx is missing/);
      assert.equal(e.stack, `Error: ${e.message}`);
      return true;
    },
  );
  assert.equal(await lm.run(() => 42), 42);
});
