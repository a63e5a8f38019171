"""Writes notebooks/fig10-temporal-ids.ipynb (nbformat v4, kernel linmech-ts). Edit the cell sources here and re-run:
python3 tools/notebooks/build_fig10.py"""
from notebook_cells import code, md, write


SETUP = r'''
import * as lm from "@linmech/kernel-ext";

// Parameters: the model (a video bundle under data/models or a folder) and CI mode (reduced sizes).
const MODEL = process.env.LINMECH_MODEL ?? "toy-llava-video";
const CI = process.env.LINMECH_CI === "1";
const model = await lm.run(() => lm.loadModel(MODEL));
console.log(`model ${model.name}: ${model.numLayers} decoder blocks, width ${model.width}, ` +
  `${model.meta.max_frames} frames × ${model.meta.tokens_per_frame} video tokens of ${model.meta.image_size}px${CI ? " — CI mode (reduced sizes)" : ""}`);
const SEED = 42;               // clips, pairs and questions
const NOISE_SEED = 7;          // the steering noise control
const PAIRS = CI ? 3 : 5;      // Fig 10b object pairs (authors: --num_obj_pairs 5) → PAIRS × 42 clips
const N_SWAP = CI ? 16 : 200;  // Fig 10a questions (authors: the first 200 manifest entries)
const N_STEER = CI ? 32 : 300; // Fig 10c questions (authors: ≤ 300 entries, deduplicated by scene pair; here half "before", half "after")
const M = 5;                   // Fig 10c multiplier (authors: 5, unnormalised)
const M_SMALL = 1;             // sensitivity run: a step of one ID difference
// Objects: the training relation pool, or the words this bundle's tokenizer knows.
const sceneObjects = lm.sceneObjectsFor(model);
console.log(`seed ${SEED}; 10b: ${PAIRS} pairs; 10a: ${N_SWAP} questions; 10c: ${N_STEER} questions, m = ${M} and ${M_SMALL}; ` +
  `objects: ${sceneObjects ? sceneObjects.join(", ") : "the training relation pool"}`);
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const pfmt = (p: number) => (!Number.isFinite(p) ? String(p) : p < 1e-3 ? p.toExponential(1) : p.toFixed(3));
const verdicts = (checks: { name: string; pass: boolean; detail: string }[]) =>
  checks.forEach((c) => console.log(`${c.pass ? "MATCHES the paper " : "DIFFERS from paper"} | ${c.name}: ${c.detail}`));
const overall = (fig: string, checks: { pass: boolean }[]) => {
  const k = checks.filter((c) => c.pass).length;
  console.log(`=> ${fig}: ${k === checks.length ? "REPRODUCED" : k === 0 ? "NOT REPRODUCED" : "PARTLY REPRODUCED"} on ${model.name} (${k} of ${checks.length} checks)`);
};
'''

cells = [
    md(r'''
# Fig 10 — temporal IDs in a video model

The paper's last question (Q3): do video models bind *when* an object appeared to its word the way image models
bind *where* it is? Three experiments, on the bundled `toy-llava-video` (LlavaNextVideo with a Qwen2 decoder, 8 blocks,
8 frames × 4 video tokens; held-out accuracy 0.91 on appearance order, 0.97 on scene order) or any video bundle
(`LINMECH_MODEL`):

* **(b) temporal IDs** — appearance clips (object *a* appears at frame f_a, *b* at f_b ≠ f_a, f ∈ 1..7); the residual
  stream at each object's word, averaged per (object, frame) over partner clips; the temporal ID T_L(f) = mean over
  objects; a 1-D PCA per layer with the "before"/"after" words of a text-only run projected on it.
* **(a) temporal mirror swap** — Fig 4 with time: scene-order clips (frames 0–3 show one object, 4–7 the other) and
  the same clip played backwards; belief shift when the text / video-token / object-word states of one layer come
  from the reversed run.
* **(c) temporal steering** — add m·(T_L(i) − T_L(8 − i)) to the subject's word and read Δ log-prob of "before" and
  "after", split by the true answer.

**Layer convention:** the printed layer is the block index *L* of `blocks.L.hook_resid_post` (HF `hidden_states[L+1]`);
*L* = −1 is `hook_embed`. The authors read temporal IDs at `hidden_states[L]` and steer at `hidden_states[L+1]`; here an
ID read at a site is added at the same site.

**Read before interpreting the toy model:** its training adds a *binding loss* that asks each object word to name the
frame word (`f0`…`f7`) of its object's first frame at `hidden_states[4]` = `blocks.3.hook_resid_post`
(tools/README.md). Frame information at object words is therefore partly there by construction; what the loss does not
prescribe is whether it is shared across objects as one ordered axis, whether it is linear, whether the answer reads
it, and what the other layers do.

Deviations from the authors' code (full lists in the headers of `src/experiments/temporalIds.ts`,
`temporalMirrorSwap.ts`, `temporalSteering.ts`): the per-object embeddings are **averaged** over partner clips (the
authors overwrite them, keeping only the last clip; both are printed); token positions by tokenizing (the authors use
hard-coded offsets from the end of the prompt and hard-coded Qwen2 token ids); IDs added at the layer they were read
at; seeded synthetic clips instead of downloaded appearance videos and MVBench scene-order videos; the toy's question
template; undefined belief shifts counted and excluded rather than set to 0; a same-norm noise control and sign
tests added.
'''),
    code(SETUP),
    md(r'''
## (b) Temporal IDs: is time an ordered axis at the object words?
One clip per (pair, f_a, f_b): PAIRS × 7 × 6 traces. Printed per layer: the share of the frame IDs' variance on PC1
(the paper's title), Spearman of PC1 with the frame index with its **exact permutation p-value** (all 7! orderings;
p = 2/5040 ≈ 4e-4 is the smallest possible), the min–max normalised strip (frame 1 → 0; sign fixed so frame 1 < frame
7), where the text-only "before"/"after" words land on that scale, and how many single objects are ordered (ρ ≥ 0.9)
when their own averaged vectors are projected on the same component.
'''),
    code(r'''
const pool = sceneObjects ?? [...lm.TRAIN_OBJECTS];
const PAIR_LIST = lm.temporalPairs(PAIRS, pool, SEED);
const idBar = lm.progress(PAIRS, { label: "fig10b object pairs (42 clips each)" });
const tids = await lm.run(() => lm.temporalIds(model, { pairs: PAIR_LIST, seed: SEED, onProgress: () => idBar.tick() }));
idBar.done();
console.log(`pairs: ${tids.pairs.map(([a, b]) => `${a}/${b}`).join(", ")}; ${tids.clips} clips + 1 text-only run = ${tids.runs} traces ` +
  `in ${tids.sessionCalls} session calls, ${tids.seconds.toFixed(1)} s`);
console.log(`model accuracy on these appearance clips (argmax before/after): ${f3(tids.accuracy)}; observations per (object, frame): ` +
  `${[...new Set(Object.values(tids.counts).flat())].join(", ")}; markers from "${tids.markerPrompt}" (text only)`);
'''),
    code(r'''
const pr = lm.projectTemporalIds(tids);
const prC = lm.projectTemporalIds(tids, { ids: "centred" });
const prA = lm.projectTemporalIds(tids, { ids: "authors-overwrite" });
console.log(`   L | PC1 share | ρ(PC1, frame) | exact p  | normalised PC1, frames ${tids.frames.join(" … ")}      | "before" "after" | objects ordered`);
for (const p of pr) {
  if (p.degenerate) { console.log(`${String(p.layer).padStart(4)} | degenerate: the frame IDs are identical (a word's embedding cannot see the clip)`); continue; }
  const os = Object.values(p.objectSpearman).filter(Number.isFinite);
  console.log(`${String(p.layer).padStart(4)} | ${f3(p.explained).padStart(9)} | ${f2(p.spearman).padStart(13)} | ${pfmt(p.p).padStart(8)} | ` +
    `${p.normalised.map(f2).join(" ").padEnd(34)} | ${f2(p.markers.before.normalised).padStart(8)} ${f2(p.markers.after.normalised).padStart(7)} | ` +
    `${os.filter((r) => r >= 0.9).length}/${os.length}`);
}
// What the authors' overwrite changes: each (object, frame) keeps one clip instead of the mean of its partner clips.
const dist = (a: Float64Array, b: Float64Array) => Math.sqrt(a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0));
console.log("\nper-object centring and the authors' overwrite, per layer:");
console.log("   L | centred: PC1 share  ρ | overwrite: PC1 share  ρ     p     | overwrite error / temporal spread");
tids.layers.forEach((L, k) => {
  if (pr[k].degenerate) return;
  const T = tids.ids[k], Tw = tids.overwriteIds[k];
  const mu = T[0].map((_, j) => T.reduce((s, v) => s + v[j], 0) / T.length);
  const spread = T.reduce((s, v) => s + dist(v, mu), 0) / T.length;
  const err = T.reduce((s, v, f) => s + dist(v, Tw[f]), 0) / T.length;
  console.log(`${String(L).padStart(4)} | ${f3(prC[k].explained).padStart(18)} ${f2(prC[k].spearman).padStart(5)} | ` +
    `${f3(prA[k].explained).padStart(20)} ${f2(prA[k].spearman).padStart(5)} ${pfmt(prA[k].p).padStart(7)} | ${f3(err / spread)}`);
});
console.log("(overwrite error = mean |T_overwrite(f) − T_mean(f)|, temporal spread = mean |T_mean(f) − mean over frames|)");
'''),
    code(r'''
const idCheck = lm.describeTemporalIdPattern(pr);
const strip = pr.filter((p) => !p.degenerate).map((p) => ({
  layer: p.layer,
  explained: Math.min(1, Math.max(0, p.explained)),
  points: p.normalised.map((x, f) => ({ column: f, row: 0, x, y: 0, label: `frame ${p.frames[f]}` })),
  markers: [{ text: "B", x: p.markers.before.normalised, y: 0.2 }, { text: "A", x: p.markers.after.normalised, y: 0.2 }],
}));
lm.plot.spatialMap({
  title: `Fig 10b on ${model.name}: temporal IDs on PC1 (${tids.pairs.length} pairs)`,
  caption: "1-D PCA of T_L(f), f = 1…7 (colour = frame), min–max normalised, frame 1 → 0; B / A = the text-only hidden states of " +
    "\"before\" / \"after\" projected with the same PCA (drawn above the strip). Explained = PC1's share. Legend \"column k\" = frame k + 1. Slider: block L.",
  grid: { columns: tids.frames.length, rows: 1 },
  layers: strip,
  initialLayer: Math.max(0, strip.findIndex((l) => l.layer === idCheck.best?.layer)),
  xLabel: "PC1 (normalised)", yLabel: "", invertY: false, height: 320,
});
'''),
    md(r'''
## (a) Temporal mirror swap: where does the before/after information converge?
Per question: 2 clean runs (the clip; the reversed clip traced at every site) + |sites| × 3 patched runs, batched per
token set with prefix reuse. Panels in the authors' order: all text tokens after the video, all video (frame) tokens,
the two object words. The reversed clip's ground truth is the opposite answer.
'''),
    code(r'''
const swapSamples = await lm.run(() => lm.temporalSwapSamples(N_SWAP, { size: model.meta.image_size, seed: SEED, objects: sceneObjects }));
const swapBar = lm.progress(N_SWAP, { label: "fig10a questions" });
const swap = await lm.run(() => lm.temporalMirrorSwap(model, swapSamples, { tokenSets: ["text", "image", "objectWords"], onProgress: () => swapBar.tick() }));
swapBar.done();
console.log(`${swap.questions.length} questions, ${swap.runs} decoder runs (${swap.runs / swap.questions.length} per question) in ${swap.sessionCalls} session calls, ${swap.seconds.toFixed(1)} s`);
const ss = lm.summariseMirrorSwap(swap);
console.log(`accuracy (argmax of before/after): clips ${f2(ss.accuracy.original)}, reversed clips ${f2(ss.accuracy.counterfactual)}; ` +
  `mean |lp_x − lp_y| before ${f2(ss.meanDenominator.before)}, after ${f2(ss.meanDenominator.after)}`);
for (const c of ss.curves) {
  console.log(`-- ${lm.TEMPORAL_TOKEN_SET_TITLES[c.tokenSet]} (mean ± std over questions; undefined = zero denominator, excluded)`);
  console.log("   L |  Δbefore        |  Δafter         | GT form | median | undefined");
  ss.layers.forEach((L, k) => {
    const b = c.perWord.before[k], a = c.perWord.after[k];
    console.log(`${String(L).padStart(4)} | ${f3(b.mean).padStart(6)} ± ${f3(b.std).padEnd(6)} | ${f3(a.mean).padStart(6)} ± ${f3(a.std).padEnd(6)} | ` +
      `${f3(c.gt[k].mean).padStart(7)} | ${f3(c.median[k]).padStart(6)} | ${b.undefinedCount + a.undefinedCount}`);
  });
}
'''),
    code(r'''
lm.plot.beliefShift({
  title: `Fig 10a on ${model.name}: temporal mirror swapping (frames reversed, N = ${N_SWAP})`,
  caption: "x: block index L of blocks.L.hook_resid_post (−1 = hook_embed); mean ± std over questions of the per-word belief shift " +
    "(lp_x − lp_patched) / (lp_x − lp_reversed).",
  layers: swap.layers,
  panels: ss.curves.map((c) => ({
    title: lm.TEMPORAL_TOKEN_SET_TITLES[c.tokenSet],
    series: ss.answers.map((w) => ({
      name: `Δ"${w}"`,
      mean: c.perWord[w].map((x) => (Number.isFinite(x.mean) ? x.mean : null)),
      std: c.perWord[w].map((x) => (Number.isFinite(x.std) ? x.std : null)),
    })),
  })),
  columns: 3,
  yRange: [-1, 2],
});
'''),
    md(r'''
## (c) Temporal steering: does moving the subject's temporal ID move the answer?
For i = 1…7: subject's word += m·(T_L(i) − T_L(8 − i)) at block L (every block is run), using the averaged temporal IDs
of (b). i < 4 moves the subject earlier ("before" should rise), i > 4 later; i = 4 adds the zero vector. **Sign
convention: Δ = lp_patched − lp_clean** (positive = the word became more likely; the authors' temporal script uses
this sign, their spatial scripts the opposite). Noise control: one same-norm random direction per question and
block, with the norm of the i = 1 vector. The paper's m = 5 is run, and m = 1 as a sensitivity check: the printed
norms show how large m·|T(1) − T(7)| is next to the residual stream at the subject's word.
'''),
    code(r'''
const steerSamples = await lm.run(() => lm.temporalSteeringSamples(N_STEER, { size: model.meta.image_size, seed: SEED, objects: sceneObjects }));
const idSet = lm.temporalIdSet(tids);
const steerBar = lm.progress(2 * N_STEER, { label: `fig10c questions (m = ${M}, then m = ${M_SMALL})` });
const steerM = await lm.run(() => lm.temporalSteering(model, steerSamples, idSet, { m: M, noise: true, seed: NOISE_SEED, onProgress: () => steerBar.tick() }));
const steerS = await lm.run(() => lm.temporalSteering(model, steerSamples, idSet, { m: M_SMALL, noise: true, seed: NOISE_SEED, onProgress: () => steerBar.tick() }));
steerBar.done();
const nb = steerSamples.filter((s) => s.answer === "before").length;
console.log(`${steerSamples.length} questions (${nb} "before", ${steerSamples.length - nb} "after"; no unordered object pair twice), ` +
  `${steerM.runs + steerS.runs} decoder runs in ${(steerM.seconds + steerS.seconds).toFixed(1)} s`);
console.log("   L | |T(1) − T(7)| | token norm | m·|T(1) − T(7)| / token norm (m = " + M + ")");
steerM.layers.forEach((L, l) => console.log(`${String(L).padStart(4)} | ${f2(steerM.vectorNorms[l][0] / M).padStart(13)} | ${f2(steerM.tokenNorms[l]).padStart(10)} | ${f2(steerM.vectorNorms[l][0] / steerM.tokenNorms[l])}`));
for (const r of [steerM, steerS]) {
  console.log(`\n=== m = ${r.m}: per block, margin = lp(before) − lp(after); contrast = Δmargin at frame 1 − at frame 7 (per question)`);
  console.log("   L | mean Δmargin at frames 1…7                        | contrast  up/down  p       | ρ(frame) | flips →before →after | |Δmargin| ID vs noise");
  for (const L of r.layers) {
    const l = r.layers.indexOf(L);
    const curve = r.frames.map((_, i) => r.questions.reduce((s, q) => s + q.change[l][i].before - q.change[l][i].after, 0) / r.questions.length);
    const c = lm.temporalContrast(r, L);
    console.log(`${String(L).padStart(4)} | ${curve.map((x) => f2(x).padStart(6)).join(" ")} | ${f2(c.meanEffect).padStart(8)} ${String(c.positive).padStart(4)}/${String(c.negative).padEnd(4)} ${pfmt(c.p).padStart(7)} | ` +
      `${f2(c.spearman).padStart(8)} | ${f2(c.flipToBefore).padStart(13)} ${f2(c.flipToAfter).padStart(6)} | ${f2(c.earlyMeanAbs)} vs ${f2(c.noiseMeanAbs)}`);
  }
}
'''),
    code(r'''
const steerChecks = [steerM, steerS].map((r) => lm.describeTemporalSteering(r));
[steerM, steerS].forEach((r, j) => {
  const L = steerChecks[j].layer;
  const curves = lm.temporalSteeringCurves(r, L);
  for (const cv of curves)
    console.log(`m = ${r.m}, block ${L}, GT "${cv.groundTruth}" (n = ${cv.n}): Δ"after" ${cv.mean.after.map(f2).join(" ")} | Δ"before" ${cv.mean.before.map(f2).join(" ")}` +
      ` | noise: Δ"after" ${f2(cv.noiseMean.after)}, Δ"before" ${f2(cv.noiseMean.before)}`);
  lm.plot.interventionLines({
    title: `Fig 10c on ${model.name}: subject += ${r.m}·(T(i) − T(8 − i)), block ${L}`,
    caption: `Mean ± std over questions of lp_patched − lp_clean, split by the true answer; block ${L} = the block with the largest ` +
      `frame-1-vs-7 contrast (the table above has every block). N = ${r.questions.length}.`,
    interventions: r.frames.map(String),
    xLabel: "intervention ID i (frame)",
    panels: curves.map((cv) => ({
      title: `true answer "${cv.groundTruth}" (n = ${cv.n})`,
      series: [
        { name: `Δ lp("after")`, mean: cv.mean.after, std: cv.std.after, color: "darkorange" },
        { name: `Δ lp("before")`, mean: cv.mean.before, std: cv.std.before, color: "steelblue" },
      ],
    })),
    columns: 2,
  });
});
'''),
    md(r'''
## Does the toy model reproduce the paper's claims?
* **10b** — time is a linear, ordered axis at the object words: at some layer PC1 of the frame IDs orders the frames
  (Spearman ≥ 0.9, exact permutation p × number of layers < 0.05), and the "before" word lies on the early side of
  "after" along it.
* **10a** — Fig 4's convergence pattern with time (`describeSwapPattern`'s thresholds): frame tokens matter early and
  decay, text grows with depth and overtakes them, object words carry the belief only in a middle band; plus a sign
  test that the object-word swap moves the belief at its peak block.
* **10c** — temporal IDs manipulate before/after: steering towards frame 1 rather than 7 raises lp(before) − lp(after)
  (sign test over questions, Bonferroni over blocks), monotonically in i (ρ ≤ −0.9), in both true-answer panels.
Each line prints the numbers behind it.
'''),
    code(r'''
console.log("Fig 10b — temporal IDs:");
verdicts(idCheck.checks);
overall("Fig 10b", idCheck.checks);
const swapChecks = lm.describeTemporalSwapPattern(ss, swap);
console.log("\nFig 10a — temporal mirror swap:");
verdicts(swapChecks);
// Not a paper check, a description: the blocks at which each token set carries at least half of the reversed belief
const carries = (t: lm.TokenSetName) => {
  const c = ss.curves.find((x) => x.tokenSet === t)!;
  return ss.layers.filter((_, k) => (c.perWord.before[k].mean + c.perWord.after[k].mean) / 2 >= 0.5);
};
console.log(`   where the belief lives (mean shift ≥ 0.5): video tokens at blocks [${carries("image").join(", ")}], ` +
  `object words at [${carries("objectWords").join(", ")}], text at [${carries("text").join(", ")}] (−1 = hook_embed)`);
overall("Fig 10a", swapChecks.slice(1)); // the first line is the prerequisite (the model answers the clips)
[steerM, steerS].forEach((r, j) => {
  console.log(`\nFig 10c — temporal steering, m = ${r.m}${r.m === M ? " (the authors' multiplier)" : " (sensitivity)"}:`);
  verdicts(steerChecks[j].checks);
  overall(`Fig 10c (m = ${r.m})`, steerChecks[j].checks);
});
'''),
]

write("fig10-temporal-ids", cells)
print("wrote 1 notebook")
