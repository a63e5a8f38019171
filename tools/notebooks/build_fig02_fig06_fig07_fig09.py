"""Writes notebooks/fig02-adversarial-steering.ipynb, fig06-arbitrary-steering.ipynb, fig07-depth-vs-height.ipynb and
fig09-accuracy-vs-steerability.ipynb (nbformat v4, kernel linmech-ts). Edit the cell sources here and re-run:
python3 tools/notebooks/build_fig02_fig06_fig07_fig09.py"""
from notebook_cells import UNIVERSAL_IDS_SETUP, code, md, write


# Parameters shared by every steering notebook. The universal IDs: in full mode the fig05 artefact (the paper's ten
# objects, out/universal-ids/<model>); in CI mode two objects under their own variant (cheap for every zoo model, and
# never mixed up with fig05's CI artefact, which uses four objects).
COMMON = r'''
import * as lm from "@linmech/kernel-ext";

const CI = process.env.LINMECH_CI === "1";
const ID_OBJECTS: string[] = CI ? ["camel", "frog"] : [...lm.PAPER_OBJECTS];
const ID_VARIANT = CI ? "ci-steering" : undefined;
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : String(x));
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const pfmt = (p: number) => (!Number.isFinite(p) ? String(p) : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const verdict = (pass: boolean, name: string, detail: string) =>
  console.log(`${pass ? "MATCHES the paper " : "DIFFERS from paper"} | ${name}: ${detail}`);
'''

# One model: LINMECH_MODEL or the toy model.
SINGLE = COMMON + r'''
const MODEL = process.env.LINMECH_MODEL ?? "toy-llava";
const model = await lm.run(() => lm.loadModel(MODEL));
console.log(`model ${model.name}: ${model.numLayers} decoder blocks, width ${model.width}, ` +
  `${model.meta.tokens_per_image} image tokens of a ${model.meta.image_size}px image${CI ? " — CI mode (reduced sizes)" : ""}`);
''' + UNIVERSAL_IDS_SETUP + r'''const LAYERS = Array.from({ length: model.numLayers }, (_, i) => i);
// The layers plotted: the authors plot blocks 12 and 13 of LLaVA's 32 (≈ 40 % depth); the same relative depth here.
const MID = Math.min(model.numLayers - 2, Math.max(0, Math.round(0.4 * (model.numLayers - 1))));
const PLOT_LAYERS = [MID, MID + 1];
'''

# The Fig 2 / Fig 9 runs: identical parameters in both notebooks, so Fig 9 reuses Fig 2's cached runs.
ZOO = COMMON + r'''
// Models: every image bundle under data/models (the toy model and its zoo checkpoints), plus LINMECH_MODEL and
// LINMECH_MODELS (comma-separated names or bundle folders) when set.
const EXTRA = [process.env.LINMECH_MODEL ?? "", ...(process.env.LINMECH_MODELS ?? "").split(",")].map((s) => s.trim()).filter((s) => s.length > 0);
const MODELS = lm.steeringModels(EXTRA);
if (MODELS.length === 0) throw new Error(`no image-model bundles under ${lm.modelsDir()}; export one, or pass LINMECH_MODELS=/path/to/bundle`);
const N = CI ? 6 : 100;   // questions per task: N left/right (clutter-lr) + N above/below (clutter-ab)
const FACTOR = 5;         // steering norm = FACTOR × ‖x_L[word]‖
// Runs are cached in out/steering/ (keyed by the bundle's files and every parameter): Fig 2 and Fig 9 share them.
// generate: 1 greedy token for the verdicts — the toy models answer in one word and emit no end-of-turn token, so a
// longer continuation ("left left right") names both words and would count as nonsense. For a model that starts its
// answer with another word, raise it.
const RUN = { n: N, factor: FACTOR, seed: 42, noiseSeed: 0, generate: 1, idObjects: ID_OBJECTS, idVariant: ID_VARIANT,
  cacheDir: `${lm.repoRoot()}/out/steering`, cacheSuffix: CI ? "-ci" : "" };
console.log(`models (${MODELS.length}): ${MODELS.join(", ")}`);
console.log(`N = ${N} left/right + ${N} above/below questions per model, k = ${FACTOR}, every decoder block${CI ? " — CI mode (reduced sizes)" : ""}`);

async function runZoo(): Promise<lm.ModelRun[]> {
  const out: lm.ModelRun[] = [];
  for (const name of MODELS) {
    let idBar: lm.Progress | undefined, qBar: lm.Progress | undefined;
    const r = await lm.run(() => lm.adversarialForModel(name, {
      ...RUN,
      onIdProgress: (m, d, t) => { idBar = idBar ?? lm.progress(t, { label: `${m}: universal-ID pairs` }); idBar.set(d); },
      onProgress: (m, d, t) => { qBar = qBar ?? lm.progress(t, { label: `${m}: adversarial-steering questions` }); qBar.set(d); },
    }));
    idBar?.done();
    qBar?.done();
    const res = r.result;
    console.log(`${res.model}: ${r.source === "computed" ? `${res.runs} decoder runs in ${res.sessionCalls} session calls, ${res.seconds.toFixed(1)} s; IDs ${r.idSource}` : `reused ${r.source}`}`);
    out.push(r);
  }
  return out;
}
'''

# ---------------------------------------------------------------------------------------------------------------
fig02 = [
    md(r'''
# Fig 2 — adversarial spatial-ID steering vs same-norm noise

**Claim (paper):** adding the spatial-ID difference most likely to reverse a model's answer to the two object words
flips its belief far more often than random vectors of the same norm: median flip rate **64.6 %** (ID) vs **29.5 %**
(noise) over 11 VLMs, mean net gain **+43.6 %**.

**Method** (`src/experiments/adversarialSteering.ts`): for every left/right and above/below question and every
decoder block L, the model's first-token belief (sign of d₀ = lp(GT) − lp(other)) picks the reversing direction —
believed "right": subject += U(0,0) − U(3,0), reference += U(3,0) − U(0,0); "above": subject += U(0,3) − U(0,0),
reference the opposite — each rescaled to k·‖x_L[word]‖ (k = 5). Control: independent Gaussian directions with the
same two norms. Flip = sign(d₁) ≠ sign(d₀). Per model: the authors' **top-3-layer** bar (layers picked by ID flip
rate, noise at the same layers) and the unselected **all-layer** bar; across models: medians and net gain. Test of ID
vs noise: exact sign test over questions of (#layers flipped by ID − #layers flipped by noise), McNemar per layer.
Also printed: how far each intervention moves the margin at all (mean |d₁ − d₀|), which tells a model that ignores
its object words (nothing moves) from one whose words carry the answer.

**Sites:** L = block index of `blocks.L.hook_resid_post` (HF hidden_states[L+1]); IDs are read and added at the same
site. **Models:** every image bundle in `data/models` (toy-llava and its zoo checkpoints) plus `LINMECH_MODEL` /
`LINMECH_MODELS`. **IDs:** the fig05 artefact (`out/universal-ids/<model>`, the paper's ten objects), computed here
when missing; in CI mode two objects (`-ci-steering`). Runs are cached in `out/steering/` for the Fig 9 notebook.

**Deviations** (full list in the file header): direction from the first-token belief (no question skipped; same
questions for ID and noise); token norm at the edited occurrence (not a Frobenius norm over prompt + 250 generated
tokens); all blocks instead of a hand-picked band; seeded noise; 1 greedy token for the verdicts (the toy models
answer in one word and never stop); cluttered src/data scenes instead
of COCO-Spatial; legend "spatial ID"/"noise" (the authors' says "Correct"/"Wrong").
'''),
    code(ZOO),
    code(r'''
const runs = await runZoo();
const results = runs.map((r) => r.result);
const sums = results.map((r) => lm.summariseAdversarial(r, 3));
'''),
    code(r'''
for (const [i, s] of sums.entries()) {
  const r = results[i];
  const acc = r.questions.filter((q) => q.verdict === "correct").length / r.questions.length;
  const shift = lm.marginShift(r);
  const meanAbsD0 = r.questions.reduce((t, q) => t + Math.abs(q.d0), 0) / r.questions.length;
  console.log(`\n=== ${s.model}: ${s.questions} questions, baseline accuracy ${pct(acc)} (${s.nonsense} greedy answers name neither word), mean |d0| = ${f3(meanAbsD0)}`);
  console.log("   L | ‖x_L‖ subj | ID flips         | noise flips      | McNemar ID only / noise only, p | mean |d1−d0| ID / noise");
  for (const [j, L] of s.layers.entries()) {
    const a = s.idRates.get(L)!, b = s.noiseRates.get(L)!, t = s.test.perLayer.find((x) => x.layer === L)!;
    const norm = r.questions.reduce((u, q) => u + q.norms.subject[j], 0) / r.questions.length;
    console.log(`${String(L).padStart(4)} | ${f3(norm).padStart(10)} | ${pct(a.rate).padStart(6)} (${a.flipped}/${a.counted}) | ${pct(b.rate).padStart(6)} (${b.flipped}/${b.counted}) | ` +
      `${t.idOnly} / ${t.noiseOnly}, p = ${pfmt(t.p)} | ${f3(shift[j].id)} / ${f3(shift[j].noise)}`);
  }
  console.log(`top-3 layers [${s.top.layers.join(", ")}] (authors' bar): ID ${pct(s.top.id.mean)} ± ${pct(s.top.id.std)}, noise ${pct(s.top.control.mean)} ± ${pct(s.top.control.std)}`);
  console.log(`all ${s.all.layers.length} layers (no selection):  ID ${pct(s.all.id.mean)} ± ${pct(s.all.id.std)}, noise ${pct(s.all.control.mean)} ± ${pct(s.all.control.std)}`);
  console.log(`sign test over questions: ID flips more layers in ${s.test.idMore}, noise in ${s.test.noiseMore}, ties ${s.test.ties}; two-sided p = ${pfmt(s.test.p)}`);
}
'''),
    code(r'''
const bars = (title: string, pick: (s: lm.AdversarialSummary) => lm.LayerSummary, caption: string) =>
  lm.plot.bars({
    title, caption, categories: sums.map((s) => s.model), percent: true, valueLabel: "% belief swapped", valueRange: [0, 1],
    series: [
      { name: "spatial ID", values: sums.map((s) => pick(s).id.mean), errors: sums.map((s) => pick(s).id.std), color: "skyblue" },
      { name: "noise (same norm)", values: sums.map((s) => pick(s).control.mean), errors: sums.map((s) => pick(s).control.std), color: "peachpuff" },
    ],
  });
bars(`Fig 2: ${FACTOR}× steered — % belief swapped, top-3 layers by ID flip rate (the authors' selection)`, (s) => s.top,
  `Mean ± std over each model's 3 layers with the highest ID flip rate; noise at the same layers. N = ${2 * N} questions per model.`);
bars(`Fig 2 without layer selection: mean over all blocks`, (s) => s.all,
  `Mean ± std over every decoder block L (blocks.L.hook_resid_post). N = ${2 * N} questions per model.`);
'''),
    md(r'''
## Does the toy model reproduce the paper's claim?
The claim holds for a model when its ID flip rate over all layers is higher than its noise flip rate and the sign
test over questions rejects "no difference" (p < 0.05). Across models we print the paper's headline numbers (median
ID and noise flip rate of the top-3 bars, mean net gain) and the same without layer selection. When neither
intervention moves the margin (mean |d₁ − d₀| ≪ mean |d₀|), the model's answer does not read its object words at
all, and the claim cannot show up in it.
'''),
    code(r'''
const head = lm.flipHeadline(sums.map((s) => ({ id: s.top.id.mean, control: s.top.control.mean })));
const headAll = lm.flipHeadline(sums.map((s) => ({ id: s.all.id.mean, control: s.all.control.mean })));
console.log(`paper (11 VLMs, top-3 layers): median ID 64.6%, median noise 29.5%, mean net gain +43.6%`);
console.log(`here (${sums.length} model(s), top-3 layers): median ID ${pct(head.medianId)}, median noise ${pct(head.medianControl)}, mean net gain ${pct(head.meanNetGain)}, median net gain ${pct(head.medianNetGain)}`);
console.log(`here (all layers, no selection):     median ID ${pct(headAll.medianId)}, median noise ${pct(headAll.medianControl)}, mean net gain ${pct(headAll.meanNetGain)}`);
let holds = 0;
for (const [i, s] of sums.entries()) {
  const ok = s.all.id.mean > s.all.control.mean && s.test.p < 0.05 && s.test.idMore > s.test.noiseMore;
  if (ok) holds++;
  const shift = lm.marginShift(results[i]);
  const maxId = Math.max(...shift.map((x) => x.id)), maxNoise = Math.max(...shift.map((x) => x.noise));
  const meanAbsD0 = results[i].questions.reduce((t, q) => t + Math.abs(q.d0), 0) / results[i].questions.length;
  verdict(ok, s.model, `ID ${pct(s.all.id.mean)} vs noise ${pct(s.all.control.mean)} flips over all layers ` +
    `(top-3: ${pct(s.top.id.mean)} vs ${pct(s.top.control.mean)}), sign test p = ${pfmt(s.test.p)}; ` +
    `largest mean |d1−d0| over layers: ID ${f3(maxId)}, noise ${f3(maxNoise)} (mean |d0| ${f3(meanAbsD0)})`);
}
console.log(`\n${holds} of ${sums.length} model(s) show significantly more flips under spatial-ID steering than under same-norm noise.`);
'''),
]

# ---------------------------------------------------------------------------------------------------------------
fig09 = [
    md(r'''
# Fig 9 — baseline accuracy vs steerability across models

**Claim (paper):** models with higher zero-shot accuracy are easier to manipulate with spatial IDs — across the 12
VLMs, baseline accuracy rises with steerability (the accuracy drop under ID steering).

**Method** (`src/experiments/steerability.ts`), from the Fig 2 runs (reused from `out/steering/` when the Fig 2
notebook ran with the same models and parameters, computed here otherwise): baseline accuracy = share of greedy
control answers naming the GT word and not the other; per layer L the accuracy under ID steering and under the
same-norm noise. **Steerability** (the paper's axis label, "ID belief Δ − noise belief Δ") = mean over layers of
acc_noise(L) − acc_ID(L), error bar = std over layers. **Authors' variant** (their code): mean over layers of
acc_none − acc_ID(L) with no noise subtracted, post-intervention accuracy over the unambiguous questions only.
Across models: Pearson and Spearman correlation of baseline accuracy with steerability, with an exact permutation p
for Spearman (with n models the smallest possible p is 2/n!).

**Models:** as Fig 2 — every image bundle in `data/models` (toy-llava and its zoo checkpoints; a zoo is one family,
joined by a dashed line) plus `LINMECH_MODEL` / `LINMECH_MODELS`.

**Deviations** (file header): noise drop subtracted on the default axis (the authors' code does not, although the
label says so); the same questions for all accuracies; whole-word verdicts on 1 greedy token (the toy models answer in
one word and never stop, so longer continuations name both words); family = model name
without its checkpoint suffix.
'''),
    code(ZOO),
    code(r'''
const runs = await runZoo();
const points = runs.map((r) => lm.steerabilityPoint(r.result));
console.log("model                 | baseline acc | steerability (noise-subtracted) | authors' variant        | per-layer acc ID / noise");
for (const p of points)
  console.log(`${p.model.padEnd(21)} | ${pct(p.baseline).padStart(12)} | ${pct(p.steerability.mean).padStart(7)} ± ${pct(p.steerability.std).padEnd(22)} | ` +
    `${pct(p.authors.mean).padStart(7)} ± ${pct(p.authors.std).padEnd(7)} (n=${p.authors.unambiguous}) | ` +
    p.layers.map((L, j) => `${L}:${pct(p.idAccuracy[j])}/${pct(p.noiseAccuracy[j])}`).join(" "));
'''),
    code(r'''
const scatter = (title: string, pick: (p: lm.SteerabilityPoint) => { mean: number; std: number }, xLabel: string) =>
  lm.plot.errorScatter({
    title, xLabel, yLabel: "baseline accuracy",
    caption: `One point per model; error bar = std over layers. N = ${2 * N} questions per model. Dashed lines join checkpoints of one family.`,
    points: points.filter((p) => Number.isFinite(pick(p).mean)).map((p) => ({
      name: p.model, family: p.family, x: pick(p).mean, y: p.baseline, xError: Number.isFinite(pick(p).std) ? pick(p).std : undefined,
    })),
  });
scatter("Fig 9: baseline accuracy vs steerability (ID accuracy drop − noise accuracy drop)", (p) => p.steerability,
  "steerability: mean over layers of acc_noise − acc_ID");
if (points.some((p) => Number.isFinite(p.authors.mean)))
  scatter("Fig 9, the authors' variant: accuracy drop under ID steering, no noise subtracted", (p) => p.authors,
    "mean over layers of acc_none − acc_ID (unambiguous questions)");
'''),
    md(r'''
## Does the toy zoo reproduce the paper's claim?
The claim holds when baseline accuracy and steerability are positively correlated across models: Spearman ρ > 0 with
permutation p < 0.05 (needs at least 5 models with distinct values). With fewer models, or when every model's
steerability is ≈ 0 (nothing can be steered), the claim is not testable and the notebook says so.
'''),
    code(r'''
const c = lm.steerabilityCorrelation(points);
console.log(`${c.models} model(s). noise-subtracted: Pearson r = ${f3(c.pearson)}, Spearman ρ = ${f3(c.spearman)} (permutation p = ${pfmt(c.spearmanP)}); ` +
  `authors' variant: Pearson r = ${f3(c.pearsonAuthors)}, Spearman ρ = ${f3(c.spearmanAuthors)}`);
const spread = Math.max(...points.map((p) => Math.abs(p.steerability.mean)));
if (c.models < 3 || !Number.isFinite(c.spearman)) {
  verdict(false, "accuracy vs steerability", `not testable: ${c.models} model(s)${Number.isFinite(c.spearman) ? "" : ", correlation undefined (a constant axis)"}; ` +
    `largest |steerability| ${pct(spread)}, baselines ${points.map((p) => pct(p.baseline)).join(", ")}`);
} else {
  verdict(c.spearman > 0 && c.spearmanP < 0.05, "accuracy vs steerability",
    `Spearman ρ = ${f3(c.spearman)}, permutation p = ${pfmt(c.spearmanP)} over ${c.models} models; largest |steerability| ${pct(spread)}`);
}
'''),
]

# ---------------------------------------------------------------------------------------------------------------
fig06 = [
    md(r'''
# Fig 6 — arbitrary spatial-ID steering

**Claim (paper):** moving an object word's spatial ID moves the model's belief: adding the "rightmost" ID to the
subject raises its belief that the subject is on the right (6a: per layer on one image; 6b: over 100 questions);
the same horizontal IDs control near/far (6c), and vertical IDs the ternary "in between" relation (6d).

**Method** (`src/experiments/arbitrarySteering.ts`):
* **6a** — one left/right question; at each block L: no edit; Int 1 = subject += m·(U_L(3,1) − U_L(0,1)), reference
  += the opposite (subject pushed right); Int 2 = the reverse. Log-probs of "left" and "right" at the answer position.
* **6b/6c/6d** — per question and block L, for each of the 16 cells c: subject += m·(U_L(c) − U_L(c′)) with c′ the
  mirror of c (horizontal for left/right and near/far, vertical for in between), at every occurrence of the subject's
  last sub-token. Change of each answer word's log-prob (lp_patched − lp_clean), mean ± std over questions, split by
  ground truth. Plotted cells as the paper: top row (0,0)…(3,0) for 6b/6c, column 2 (2,0)…(2,3) for 6d; all 16 run.
* **Test:** per question, the change of the margin between the two extreme plotted cells, exact sign test over
  questions (`cellContrast`).

m = 5, unnormalised, as the authors; the ID and token norms are printed. **Sites:** L = block index of
`blocks.L.hook_resid_post`; the ID of layer L is added at layer L (the authors add the ID of hidden_states[L] to
hidden_states[L+1], and use the layer-13 ID at every layer in 6a). **Plotted layers:** the authors plot blocks 12/13
of 32; here the blocks at the same relative depth (tables cover every swept block: all of them in full mode, the
four around the plotted ones in CI mode).

**Deviations** (file header): correct token positions (the authors' 6b–d hit the token after the object word); no
layer offset; change reported as patched − clean (theirs clean − patched); panel titles name the ground truth they
hold (theirs are swapped); our universal IDs (tiles on black; theirs "with background"); chat template prompts;
seeded src/data scenes (clutter-lr, nearfar, inbetween) instead of COCO / Objaverse renders.
'''),
    code(SINGLE + r'''
const N = CI ? 10 : 100;  // questions per task (6b, 6c, 6d); ≥ 10 so that a sign test can pass the Bonferroni bound over the blocks
const M = 5;
// 6b–d sweep every block; CI mode the four blocks around the plotted ones (6a always sweeps every block)
const SWEEP_LAYERS = CI ? LAYERS.filter((L) => L >= MID - 1 && L <= MID + 2) : LAYERS;
console.log(`N = ${N} questions per task, m = ${M}; 6b–d: blocks ${SWEEP_LAYERS.join(", ")} × 16 cells; plotted blocks ${PLOT_LAYERS.join(", ")}`);
'''),
    md(r'''
## 6a — one image, every layer
'''),
    code(r'''
const [one] = await lm.steeringSamples("clutter-lr", 1, { size: model.meta.image_size, seed: 42, objects: sceneObjects });
const sweep = await lm.run(() => lm.layerSweep(model, one, ids, { m: M }));
// token norms of the subject's word vs the norm of the steering vector, per layer
const input = await model.prepare({ image: one.image, prompt: one.question });
const tr = await model.trace(input, LAYERS.map((L) => ({ site: lm.resid(L), positions: [input.positionOf(one.subject)] })));
const margin = (lp: Record<string, number>) => lp.right - lp.left;
console.log(`"${sweep.question}" (ground truth: ${sweep.answer}); ${sweep.runs} decoder runs`);
console.log(`no edit: lp(left) ${f3(sweep.none.left)}, lp(right) ${f3(sweep.none.right)}, margin right−left ${f3(margin(sweep.none))}`);
console.log("   L | ‖x_L[subject]‖ | ‖m·ΔU‖ | Int 1 (subject → right): lp left, right, margin | Int 2 (subject → left): lp left, right, margin");
for (const [k, L] of sweep.layers.entries()) {
  const vec = lm.idDifference(lm.idGridAt(ids, L), sweep.cells.b, sweep.cells.a);
  console.log(`${String(L).padStart(4)} | ${f3(lm.l2norm(tr.get(lm.resid(L)).row(0))).padStart(14)} | ${f3(M * lm.l2norm(vec)).padStart(6)} | ` +
    `${f3(sweep.int1[k].left)}, ${f3(sweep.int1[k].right)}, ${f3(margin(sweep.int1[k])).padStart(7)} | ${f3(sweep.int2[k].left)}, ${f3(sweep.int2[k].right)}, ${f3(margin(sweep.int2[k]))}`);
}
const line = (name: string, pick: (k: number) => number, color: string, dash: "solid" | "dash") =>
  ({ name, mean: sweep.layers.map((_, k) => pick(k)), color, dash });
lm.plot.beliefShift({
  title: `Fig 6a on ${model.name}: "${sweep.question}"`,
  caption: `Log-likelihood of "left" (dashed) and "right" (solid) at the answer position. Int 1: subject += ${M}·(U(3,1) − U(0,1)), reference the opposite; Int 2: the reverse; ID of the same block.`,
  layers: sweep.layers, xLabel: "block L", yLabel: "log-likelihood", referenceLine: null,
  panels: [{ title: "answer log-likelihood vs steered block", series: [
    line("Int 1: left", (k) => sweep.int1[k].left, "yellowgreen", "dash"), line("Int 1: right", (k) => sweep.int1[k].right, "yellowgreen", "solid"),
    line("Int 2: left", (k) => sweep.int2[k].left, "orchid", "dash"), line("Int 2: right", (k) => sweep.int2[k].right, "orchid", "solid"),
    line("none: left", () => sweep.none.left, "royalblue", "dash"), line("none: right", () => sweep.none.right, "royalblue", "solid"),
  ] }],
});
'''),
    md(r'''
## 6b, 6c, 6d — every cell, many questions
'''),
    code(r'''
const TASKS = [
  { fig: "6b", task: "clutter-lr" as const, mirror: "horizontal" as const },
  { fig: "6c", task: "nearfar" as const, mirror: "horizontal" as const },
  { fig: "6d", task: "inbetween" as const, mirror: "vertical" as const },
];
const sweeps: lm.CellSweepResult[] = [];
for (const t of TASKS) {
  const samples = await lm.run(() => lm.steeringSamples(t.task, N, { size: model.meta.image_size, seed: 42, objects: sceneObjects }));
  const bar = lm.progress(samples.length, { label: `Fig ${t.fig} (${t.task}) questions, ${1 + 16 * SWEEP_LAYERS.length} runs each` });
  const r = await lm.run(() => lm.cellSweep(model, samples, ids, { m: M, mirror: t.mirror, layers: SWEEP_LAYERS, onProgress: () => bar.tick() }));
  bar.done();
  console.log(`Fig ${t.fig}: ${r.questions.length} questions, ${r.runs} decoder runs in ${r.sessionCalls} session calls, ${r.seconds.toFixed(1)} s`);
  sweeps.push(r);
}
'''),
    code(r'''
const contrasts: { fig: string; task: string; c: lm.CellContrast }[] = [];
for (const [i, t] of TASKS.entries()) {
  const r = sweeps[i];
  const cells = lm.paperCells(t.mirror);
  const [w1, w2] = r.answers;
  const acc = r.questions.filter((q) => (q.clean[q.answer] >= Math.max(...r.answers.map((w) => q.clean[w])))).length / r.questions.length;
  console.log(`\n=== Fig ${t.fig} (${t.task}): ${r.questions.length} questions, first-token accuracy (argmax of ${w1}/${w2}) ${pct(acc)}`);
  console.log(`mean change of lp(${w2}) − lp(${w1}) per plotted cell ${cells.map(lm.cellName).join(" ")} (all questions), and the sign test between the extreme cells`);
  for (const L of r.layers) {
    const l = r.layers.indexOf(L);
    const perCell = cells.map((c) => {
      const k = r.cells.findIndex((d) => d.x === c.x && d.y === c.y);
      return r.questions.reduce((s, q) => s + q.change[l][k][w2] - q.change[l][k][w1], 0) / r.questions.length;
    });
    const ct = lm.cellContrast(r, L, cells[cells.length - 1], cells[0], w2, w1);
    contrasts.push({ fig: t.fig, task: t.task, c: ct });
    console.log(`${String(L).padStart(4)} | ${perCell.map((v) => f3(v).padStart(7)).join(" ")} | ${lm.cellName(ct.hi)} vs ${lm.cellName(ct.lo)}: mean ${f3(ct.meanEffect)}, ` +
      `+${ct.positive} / −${ct.negative}, p = ${pfmt(ct.p)}`);
  }
  for (const cv of lm.cellCurves(r, cells, PLOT_LAYERS)) {
    console.log(`  block ${cv.layer}, ground truth "${cv.groundTruth}" (n = ${cv.n}): ` +
      r.answers.map((w) => `Δ${w} ${cv.mean[w].map((m, j) => `${f3(m)}±${f3(cv.std[w][j])}`).join(" ")}`).join("; "));
  }
  const panels = lm.cellCurves(r, cells, PLOT_LAYERS).map((cv) => ({
    title: `ground truth "${cv.groundTruth}", block ${cv.layer} (n = ${cv.n})`,
    series: r.answers.map((w, j) => ({ name: `Δ lp("${w}")`, mean: cv.mean[w], std: cv.std[w], color: j === 0 ? "steelblue" : "darkorange" })),
  }));
  lm.plot.interventionLines({
    title: `Fig ${t.fig} on ${model.name}: ${t.task}, subject += ${M}·(U(c) − U(mirror c))`,
    caption: `Mean ± std over questions of lp_patched − lp_clean, split by ground truth; blocks ${PLOT_LAYERS.join(", ")}. N = ${r.questions.length}.`,
    interventions: cells.map(lm.cellName), panels, columns: 2,
  });
}
'''),
    md(r'''
## Does the toy model reproduce the paper's claim?
Per task: the claim holds when, at some block, steering the subject to one extreme cell rather than the other
changes the answer margin consistently across questions (sign test p < 0.05 after a Bonferroni correction over the
blocks) by at least 10 % of the mean clean margin (a consistent but negligible shift does not count), and for left/right in the paper's direction (towards (3,0) raises "right"). 6a holds when, at some block,
the two opposite edits move the margin in opposite directions far enough that the preferred answer follows the edit
(the lines cross, as in the paper's plot).
'''),
    code(r'''
const k1 = sweep.layers.map((_, k) => margin(sweep.int1[k]) - margin(sweep.none));
const k2 = sweep.layers.map((_, k) => margin(sweep.int2[k]) - margin(sweep.none));
// the lines cross as in the paper: Int 1 makes "right" the preferred answer and Int 2 makes "left" preferred
const crossed = sweep.layers.filter((_, k) => margin(sweep.int1[k]) > 0 && margin(sweep.int2[k]) < 0 && k1[k] > 0 && k2[k] < 0);
verdict(crossed.length > 0, "6a (one image)", `Int 1 → "right" preferred and Int 2 → "left" preferred at ${crossed.length} of ${sweep.layers.length} blocks ` +
  `[${crossed.join(", ")}]; clean margin right−left ${f3(margin(sweep.none))}; largest change of the margin: Int 1 ${f3(Math.max(...k1))}, Int 2 ${f3(Math.min(...k2))}`);
for (const t of TASKS) {
  const cs = contrasts.filter((x) => x.fig === t.fig).map((x) => x.c);
  const alpha = 0.05 / cs.length;
  const directional = t.fig === "6b";
  const r = sweeps[TASKS.indexOf(t)];
  const [wa, wb] = r.answers;
  const cleanMargin = r.questions.reduce((u, q) => u + Math.abs(q.clean[wa] - q.clean[wb]), 0) / r.questions.length;
  const minEffect = 0.1 * cleanMargin; // a consistent but negligible shift does not count
  const sig = cs.filter((c) => c.p < alpha && Math.abs(c.meanEffect) >= minEffect && (!directional || c.meanEffect > 0));
  // the block quoted: the largest qualifying effect, or (none qualifies) the smallest p, whatever its direction
  const best = sig.length > 0
    ? sig.reduce((a, b) => (Math.abs(b.meanEffect) > Math.abs(a.meanEffect) ? b : a))
    : cs.reduce((a, b) => (b.p < a.p ? b : a));
  verdict(sig.length > 0, `${t.fig} (${t.task})`, `${sig.length} of ${cs.length} blocks [${sig.map((c) => c.layer).join(", ")}] with a consistent effect of ${lm.cellName(best.hi)} vs ${lm.cellName(best.lo)} ` +
    `on lp(${best.wordHi}) − lp(${best.wordLo}) at p < ${f3(alpha)} and |mean| ≥ ${f3(minEffect)} (10 % of the clean margin)${directional ? " in the paper's direction" : ""}; ` +
    `${sig.length > 0 ? "largest qualifying" : "most significant"} block ${best.layer}: mean ${f3(best.meanEffect)}, +${best.positive} / −${best.negative}, p = ${pfmt(best.p)}`);
}
'''),
]

# ---------------------------------------------------------------------------------------------------------------
fig07 = [
    md(r'''
# Fig 7 — depth mistaken for height

**Claim (paper):** steering an object's *vertical* spatial ID moves LLaVA-1.5-7B's above/below answer and, in
step with it, its front/behind answer: the two beliefs are highly correlated, i.e. the model has no independent
depth representation.

**Method** (`src/experiments/depthVsHeight.ts`): per above/below question (subject S, reference R) and block L, for
j = 0..3: S += m·(U_L(0, j) − U_L(0, 3 − j)) (column 0; j = 0 pushes S up, j = 3 down), in two prompts on the same
image — "Is the S above or below the R?" and "Is the S in front of or behind the R?". Change of each answer word's
log-prob (lp_patched − lp_clean), mean ± std over questions per j. The correlation: over (question, j) pairs at a
block, Pearson and Spearman r between Δ[lp(above) − lp(below)] and Δ[lp(behind) − lp(front)] (up ↔ farther, as a
ground-plane picture puts farther objects higher).

**Sites:** L = block index of `blocks.L.hook_resid_post`, ID of the same block; plotted: the block at the relative
depth of the authors' layer 12 of 32 (tables: every block). m = 5, unnormalised.

**Fixed bugs of the authors' code:** their query parser steers "photo of a" (the subject is taken from our scene's
metadata); their notebook plots the height results under front/behind labels and vice versa (panels here are named
by the question asked); correct token positions (theirs k + 576, one past the word); no layer offset.
Data: seeded cluttered above/below scenes (clutter-ab) instead of 100 COCO-Spatial rows; chat template prompts.
'''),
    code(SINGLE + r'''
const N = CI ? 9 : 100;   // ≥ 9 so that the (question, j) pairs give a p for Pearson r (n − 2 > 30)
const M = 5;
const samples = await lm.run(() => lm.steeringSamples("clutter-ab", N, { size: model.meta.image_size, seed: 42, objects: sceneObjects }));
const bar = lm.progress(samples.length, { label: `questions (2 prompts × ${1 + 4 * LAYERS.length} runs each)` });
const r = await lm.run(() => lm.depthVsHeight(model, samples, ids, { m: M, onProgress: () => bar.tick() }));
bar.done();
console.log(`${r.questions.length} questions, ${r.runs} decoder runs, ${r.seconds.toFixed(1)} s; m = ${M}, column ${r.column}; plotted block ${PLOT_LAYERS[0]}`);
'''),
    code(r'''
const rows = r.rows.map((j) => lm.cellName({ x: r.column, y: j }));
const acc = r.questions.filter((q) => q.height.clean[q.answer] >= q.height.clean[q.answer === "above" ? "below" : "above"]).length / r.questions.length;
console.log(`clean above/below accuracy (argmax of the two first tokens): ${pct(acc)}`);
console.log("   L | Δ[lp(above)−lp(below)] per j = 0..3      | Δ[lp(behind)−lp(front)] per j = 0..3     | Pearson r (p) | Spearman ρ");
const sums = r.layers.map((L) => lm.summariseDepthHeight(r, L));
for (const s of sums) {
  const h = r.rows.map((_, j) => s.height.mean.above[j] - s.height.mean.below[j]);
  const d = r.rows.map((_, j) => s.depth.mean.behind[j] - s.depth.mean.front[j]);
  console.log(`${String(s.layer).padStart(4)} | ${h.map((v) => f3(v).padStart(8)).join(" ")} | ${d.map((v) => f3(v).padStart(8)).join(" ")} | ` +
    `${f3(s.pearson).padStart(6)} (${pfmt(s.pPearson)}) | ${f3(s.spearman)}`);
}
const sel = sums[r.layers.indexOf(PLOT_LAYERS[0])];
const series = (c: { mean: Record<string, number[]>; std: Record<string, number[]> }, words: string[]) =>
  words.map((w, i) => ({ name: `Δ lp("${w}")`, mean: c.mean[w], std: c.std[w], color: i === 0 ? "steelblue" : "darkorange" }));
lm.plot.interventionLines({
  title: `Fig 7 on ${model.name}: subject += ${M}·(U(0, j) − U(0, 3 − j)), block ${sel.layer}`,
  caption: `Mean ± std over ${r.questions.length} questions of lp_patched − lp_clean. Left: the above/below question; right: the front/behind question on the same image.`,
  interventions: rows,
  panels: [
    { title: `"above or below?" (block ${sel.layer})`, series: series(sel.height, ["above", "below"]) },
    { title: `"in front of or behind?" (block ${sel.layer})`, series: series(sel.depth, ["front", "behind"]) },
  ],
  columns: 2,
});
'''),
    md(r'''
## Does the toy model reproduce the paper's claim?
Two conditions at some block: the vertical IDs must move the above/below answer in the intended direction (pushing
the subject up, j = 0 vs j = 3, raises lp(above) − lp(below): sign test over questions, Bonferroni over blocks, and a
mean effect of at least 10 % of the clean margin, so that a consistent but negligible shift does not count), and the
front/behind effect must follow it (|Pearson r| ≥ 0.5 with p < 0.05 over (question, j) pairs; the sign is printed).
When the first fails, the correlation has nothing to correlate and the claim is not testable on this model.
'''),
    code(r'''
const alpha = 0.05 / sums.length;
const cleanMargin = r.questions.reduce((t, q) => t + Math.abs(q.height.clean.above - q.height.clean.below), 0) / r.questions.length;
const minEffect = 0.1 * cleanMargin;
console.log(`conditions: up − down raises lp(above) − lp(below) with sign test p < ${f3(alpha)} (Bonferroni over ${sums.length} blocks) and mean ≥ ${f3(minEffect)} ` +
  `(10 % of the mean clean |above − below| margin ${f3(cleanMargin)}); then |Pearson r| ≥ 0.5 with p < 0.05`);
let best: { L: number; r: number; p: number; hp: number; hMean: number } | undefined;
for (const s of sums) {
  const l = r.layers.indexOf(s.layer);
  // per question: height effect at j = 0 (up) minus at j = 3 (down), on lp(above) − lp(below)
  const eff = r.questions.map((q) => (q.height.change[l][0].above - q.height.change[l][0].below) - (q.height.change[l][3].above - q.height.change[l][3].below));
  const pos = eff.filter((e) => e > 0).length, neg = eff.filter((e) => e < 0).length;
  const hp = lm.binomialTwoSided(pos, pos + neg);
  const hMean = eff.reduce((a, b) => a + b, 0) / eff.length;
  const moves = hp < alpha && hMean >= minEffect;
  console.log(`block ${s.layer}: height effect (up − down) mean ${f3(hMean)}, +${pos} / −${neg}, sign test p = ${pfmt(hp)}${moves ? " (moves the answer)" : ""}; ` +
    `depth~height Pearson r = ${f3(s.pearson)} (p = ${pfmt(s.pPearson)}), Spearman ρ = ${f3(s.spearman)}`);
  if (moves && Number.isFinite(s.pearson) && (!best || Math.abs(s.pearson) > Math.abs(best.r))) best = { L: s.layer, r: s.pearson, p: s.pPearson, hp, hMean };
}
if (!best) verdict(false, "depth mistaken for height", `not testable on this model: at no block do the vertical IDs move the above/below answer in the paper's direction by a non-negligible, consistent amount (table above)`);
else verdict(Math.abs(best.r) >= 0.5 && best.p < 0.05, "depth mistaken for height",
  `block ${best.L}: the vertical ID moves above/below (mean ${f3(best.hMean)}, p = ${pfmt(best.hp)}) and front/behind follows with Pearson r = ${f3(best.r)} (p = ${pfmt(best.p)}; ` +
  `${best.r > 0 ? "up goes with behind, as a ground-plane picture where farther is higher" : "up goes with front"})`);
'''),
]

write("fig02-adversarial-steering", fig02)
write("fig06-arbitrary-steering", fig06)
write("fig07-depth-vs-height", fig07)
write("fig09-accuracy-vs-steerability", fig09)
print("wrote 4 notebooks")
