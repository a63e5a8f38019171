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

// Minimal stand-ins for experiment outputs (the shapes of src/experiments' result types; real runs need a model).
const shift = (mean: number) => ({ mean, std: 0.1, n: 10, undefinedCount: 0 });
const swapSummary = (kind: "mirror" | "attribute" | "reverse") => ({
  kind, layers: [-1, 0, 1], answers: ["left", "right"], n: 10,
  curves: (["image", "text", "objectWords"] as const).map((tokenSet) => ({
    tokenSet, perWord: { left: [shift(1), shift(0.5), shift(Number.NaN)], right: [shift(0.9), shift(0.4), shift(0)] },
    gt: [shift(1), shift(0.5), shift(0)], median: [1, 0.5, 0],
  })),
  accuracy: { original: 1, counterfactual: 1 }, meanDenominator: { left: 1, right: 1 },
}) as unknown as lm.SwapSummary;
const projection = (layer: number, degenerate = false) => ({
  layer, site: `blocks.${layer}.hook_resid_post`, degenerate, explained: 0.5 + layer / 100,
  px: Array.from({ length: 16 }, (_, c) => (c % 4) - 1.5), py: Array.from({ length: 16 }, (_, c) => Math.floor(c / 4) - 1.5),
  spearmanX: 1, spearmanY: 1, axesCosine: 0, markers: { left: [-2, 0], right: [2, 0] },
  axes: { h: new Float64Array(2), v: new Float64Array(2) }, basis: { u: new Float64Array(2), v: new Float64Array(2) },
}) as unknown as lm.GridProjection;
const steerPoint = (model: string, x: number) => ({
  model, family: "toy", baseline: 0.8, questions: 20, layers: [0, 1], idAccuracy: [0.5, 0.6], noiseAccuracy: [0.8, 0.8],
  steerability: { mean: x, std: 0.05 }, authors: { mean: x, std: 0.05, unambiguous: 20 }, drop: {},
}) as unknown as lm.SteerabilityPoint;
const advSummary = (model: string) => ({
  model, layers: [0, 1, 2], idRates: new Map(), noiseRates: new Map(), nonsense: 0, questions: 20,
  top: { layers: [1, 2, 0], id: { mean: 0.6, std: 0.1, values: [] }, control: { mean: 0.2, std: Number.NaN, values: [] } },
  all: { layers: [0, 1, 2], id: { mean: 0.4, std: 0.2, values: [] }, control: { mean: 0.1, std: 0.05, values: [] } },
  test: { idMore: 5, noiseMore: 1, ties: 0, p: 0.2, perLayer: [] },
}) as unknown as lm.AdversarialSummary;
const psiFit = {
  ranks: [1, 2, 3], components: 8, psiVarianceKept: 0.9, nullRank: 3, permutations: 10,
  layers: [0, 1].map((layer) => ({
    layer, site: `blocks.${layer}.hook_resid_post`, degenerate: false, r2: [0.5, 0.8, 0.9], looR2: [0.4, 0.7, 0.8 + layer / 10],
    nullInSampleByRank: [1, 2, 3].map(() => ({ mean: 0.2, std: 0.05, p: 0.01 })), nullInSample: { mean: 0.2, std: 0.05, p: 0.01 },
    nullLoo: { mean: 0.1, std: 0.05, p: 0.01 }, fittedAtNullRank: [],
  })),
} as unknown as lm.PsiFitResult;

test("kernel-ext: experiment results show as the right widget (lm.show / lm.figures)", () => {
  const kinds: [unknown, string][] = [
    [swapSummary("mirror"), "belief-shift"],
    [[swapSummary("mirror"), swapSummary("attribute")], "belief-shift"],
    [[projection(0, true), projection(1), projection(2)], "spatial-map"],
    [psiFit, "psi-regression"],
    [advSummary("a"), "bars"],
    [[advSummary("a"), advSummary("b")], "bars"],
    [[steerPoint("toy-1", 0.2), steerPoint("toy-2", 0.3)], "error-scatter"],
  ];
  for (const [x, kind] of kinds) {
    const spec = lm.resultWidget(x);
    assert.equal(spec?.kind, kind);
    assert.doesNotThrow(() => lm.validateSpec(spec), `${kind}: the built spec is valid`);
  }
  const lines = capture(() => kinds.forEach(([x]) => lm.show(x)));
  assert.equal(lines.length, kinds.length);
  assert.ok(lines.every((l) => !l.startsWith("{") && !l.startsWith("[")), `figures, not inspected values:\n${lines.join("\n")}`);

  const two = lm.figures.mirrorSwap([swapSummary("mirror"), swapSummary("attribute")]);
  assert.deepEqual(two.panels.map((p) => p.title), [
    "(A) Swapped all image tokens", "(A) Swapped all text tokens", "(A) Swapped object words",
    "(B) Swapped all image tokens", "(B) Swapped all text tokens", "(B) Swapped object words",
  ]);
  assert.deepEqual(two.panels[0].series[0].mean, [1, 0.5, null], "NaN shifts become gaps, not zeros");
  // Fig 10a: the same sweep on a clip and its frame-reversed copy draws with the video titles
  const reversed = lm.resultWidget(swapSummary("reverse")) as ReturnType<typeof lm.figures.mirrorSwap>;
  assert.equal(reversed?.kind, "belief-shift");
  assert.deepEqual(reversed.panels.map((p) => p.title), ["Swapped all video (frame) tokens", "Swapped all text tokens", "Swapped object words"]);
  assert.match(reversed.title ?? "", /frame-reversal swapping \(N = 10\)/);
  const map = lm.figures.spatialIds([projection(0, true), projection(1), projection(2)]);
  assert.deepEqual(map.layers.map((l) => l.layer), [1, 2], "degenerate layers are left out");
  assert.equal(map.initialLayer, 1, "starts at the layer with the most explained variance");
  assert.deepEqual(map.layers[0].markers?.map((m) => m.text), ["L", "R"]);
  assert.equal(lm.figures.psiRegression(psiFit).byLayer?.highlight, 1);
  assert.deepEqual(lm.figures.adversarial([advSummary("a")]).series[1].errors, [0], "a NaN std draws no error bar");
  assert.equal(lm.figures.adversarial([advSummary("a")], { layers: "all" }).series[0].values[0], 0.4);
  assert.throws(() => lm.figures.spatialIds([projection(0, true)]), /all 1 projections are degenerate/);

  for (const other of [{ kind: "mirror" }, [], [{ model: "x" }], { layers: [], ranks: [] }, [1, 2, 3]]) {
    assert.equal(lm.resultWidget(other), undefined, `not an experiment result: ${JSON.stringify(other)}`);
  }
});
