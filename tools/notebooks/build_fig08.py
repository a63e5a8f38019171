"""Writes notebooks/fig08-failure-diagnosis.ipynb (nbformat v4, kernel linmech-ts). Edit the cell sources here and
re-run: python3 tools/notebooks/build_fig08.py"""
from notebook_cells import IMAGE_MODEL_SETUP, UNIVERSAL_IDS_SETUP, code, md, write


SETUP = IMAGE_MODEL_SETUP + r'''const SEED = 42;               // scenes
const BOX_SEED = 42;           // 8b random boxes, stream ("fig08b", seed, task, question index)
const N = CI ? 100 : 500;      // questions per task: N left/right (clutter-lr) + N above/below (clutter-ab); the toy model
                               // gets ~10–15 % of them wrong, so CI mode has ~30 failures to test
const K = 10;                  // 8b random same-size blurs per question (authors: 10)
const SIGMA = lm.defaultBlurSigma(model.meta.image_size, model.meta.image_size); // authors' PIL radius 20 on ~640 px → 2 px at 64 px
const SIGMA_STRONG = 4 * SIGMA;                                                // sensitivity run: half an object's side on the toy
// Universal IDs: in full mode the paper's ten objects (the fig05 artefact when present); in CI mode two objects, the
// steering notebooks' CI artefact.
const ID_OBJECTS: string[] = CI ? ["camel", "frog"] : [...lm.PAPER_OBJECTS];
const ID_VARIANT = CI ? "ci-steering" : undefined;
''' + UNIVERSAL_IDS_SETUP + r'''console.log(`N = ${N} + ${N} questions (seed ${SEED}, held-out objects${sceneObjects ? `, restricted to ${sceneObjects.join(", ")}` : ""}), ` +
  `8b: K = ${K} random blurs (seed ${BOX_SEED}), sigma ${SIGMA.toFixed(2)} px and ${SIGMA_STRONG.toFixed(2)} px`);
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : String(x));
const pfmt = (p: number) => (!Number.isFinite(p) ? String(p) : p < 1e-3 ? p.toExponential(1) : p.toFixed(3));
const verdicts = (checks: { name: string; pass: boolean; detail: string }[]) =>
  checks.forEach((c) => console.log(`${c.pass ? "MATCHES the paper " : "DIFFERS from paper"} | ${c.name}: ${c.detail}`));
const quartiles = (v: number[]) => v.length === 0 ? "—" :
  [0, 0.25, 0.5, 0.75, 1].map((q) => f2(lm.quantile(v, q))).join(" / ");
// The numbers behind a histogram panel: the same shared bins as the widget, counts per group.
const binTable = (groups: { name: string; values: number[] }[], bins: number) => {
  const b = lm.widgets.binGroups(groups, bins, false);
  console.log(`  bin edges: ${b.edges.map(f2).join(" ")}`);
  groups.forEach((g, i) => console.log(`  ${g.name.padEnd(8)} counts: ${b.heights[i].join(" ")}`));
};
'''

cells = [
    md(r'''
# Fig 8 — diagnosing failures with spatial IDs

The paper uses spatial IDs to ask *where* a VLM's spatial failures arise:

* **(a) ground-truth deviation** — per question, the spatial IDs measured at the two object words (residual at the
  word with the image minus the same prompt without it) are compared with the IDs the objects' true positions should
  give (bilinear interpolation of the universal IDs at each object's box centre), both projected on the (h_L, v_L)
  plane. **Margin relative to GT** (right: (x_a − x_b) − (gx_a − gx_b); left: (x_b − x_a) − (gx_b − gx_a); below:
  (y_a − y_b) − (gy_a − gy_b); above: (y_b − y_a) − (gy_b − gy_a); a = subject, b = reference): negative = the
  measured IDs express the relation less than the ground truth. **Claim:** wrong answers have negative margins,
  below those of correct answers — the failure is already in the IDs, and the language part reads them faithfully.
* **(b) image masking** — the subject's box is Gaussian-blurred, and so are K same-size boxes elsewhere;
  diff = min over random blurs of lp(correct) − lp(correct | subject blurred) (positive: hiding the subject hurts more
  than hiding any other region). **Claim (LLaVA):** failures are *more* sensitive to masking the true object
  (a vision-encoder bottleneck); Llama-3.2-Vision's failures are not (cross-modal integration).

Data: seeded cluttered left/right and above/below scenes from `src/data` (the COCO-Spatial stand-in; textured
background, 0–3 distractors, scale jitter), asking about held-out objects; the toy model's held-out accuracy there is
0.90 / 0.86, so there are failures to diagnose. Verdict = which of the two answer words gets the larger first-token
log-prob.

**Layer convention:** block *L* = `blocks.L.hook_resid_post` (HF `hidden_states[L+1]`); the authors' "layer 12" of
LLaVA is `hidden_states[12]` (Convention A). Every block is run; the plotted block is chosen from the quality of the
universal IDs (printed below).

**Read before interpreting the toy model:** its training adds a *binding loss* that asks each object word to name
its object's column and row at `blocks.3.hook_resid_post` (tools/README.md), so position information at object
words in the middle blocks is partly there by construction. What the loss does not prescribe, and what 8a tests, is
whether the *failures* are the questions where that information is weak or wrong.

Deviations from the authors' code (full list in the header of `src/experiments/failureDiagnosis.ts`): the GT centre
is mapped into the frame the vision encoder sees (resize + centre crop; the authors normalise by the full COCO image
although LLaVA centre-crops it — identical here, the toy has no crop); the GT grid puts index *i* at its cell centre
(the authors' is shifted half a cell); verdict from log-probs instead of parsing a 250-token generation (no question
skipped); the same prompt in 8a and 8b; random boxes seeded per question (the authors use Python's salted `hash()`)
and the minimum over all K random blurs (the authors use 4 of their 10; that variant is printed too); blur sigma
scaled to the image; seeded scenes with generator boxes instead of What'sUp + COCO annotations.
'''),
    code(SETUP),
    md(r'''
## Questions and the block to plot
The plotted block: among the middle blocks (relative depth 0.25–0.75, where the authors' layers 12/32 and 14/40 lie),
the one whose universal IDs form an ordered 4×4 grid in the (h, v) plane with the largest share of their variance in
that plane — the block where the IDs are most purely the 2-D linear code that the GT interpolation assumes (`LINMECH_FIG08_LAYER=<block>` overrides it). The
sweep over every block follows.
'''),
    code(r'''
const samples = await lm.run(async () => [
  ...(await lm.failureSamples("clutter-lr", N, { size: model.meta.image_size, seed: SEED, objects: sceneObjects })),
  ...(await lm.failureSamples("clutter-ab", N, { size: model.meta.image_size, seed: SEED, objects: sceneObjects })),
]);
const choice = lm.diagnosisLayer(ids, model.numLayers);
const LAYER = Number(process.env.LINMECH_FIG08_LAYER ?? choice.layer);
console.log("block | ID plane share | min Spearman (x~column, y~row) | middle");
for (const t of choice.table) console.log(`${String(t.layer).padStart(5)} | ${f3(t.explained).padStart(14)} | ${f3(t.order).padStart(30)} | ${t.middle ? "yes" : ""}`);
console.log(`plotted: block ${LAYER} — ${choice.reason}`);
console.log(`example question: "${samples[0].question}" (answer ${samples[0].answer}, subject box ${samples[0].subjectBox}, reference box ${samples[0].referenceBox})`);
'''),
    md(r'''
## (a) Ground-truth deviation
One image run per question (every block traced at both words) and one text-only run per distinct prompt.
'''),
    code(r'''
const devBar = lm.progress(samples.length, { label: "fig08a questions" });
const dev = await lm.run(() => lm.groundTruthDeviation(model, samples, ids, { onProgress: (d) => devBar.set(d) }));
devBar.done();
const nWrong = dev.questions.filter((q) => !q.correct).length;
for (const task of lm.FAILURE_TASKS) {
  const qs = dev.questions.filter((q) => q.task === task);
  console.log(`${task}: accuracy ${f3(qs.filter((q) => q.correct).length / qs.length)} (${qs.filter((q) => !q.correct).length} wrong of ${qs.length})`);
}
console.log(`${dev.questions.length} questions, ${nWrong} wrong; ${dev.runs} decoder runs in ${dev.sessionCalls} session calls, ${dev.seconds.toFixed(1)} s; ` +
  `GT: ${dev.interpolation} interpolation in the ${dev.frame} frame, ${dev.questions.filter((q) => q.outside).length} centres outside the frame`);
if (nWrong < 5) console.log(`only ${nWrong} wrong answers: the tests below have little power; raise N`);
'''),
    code(r'''
// Sweep over every block: margins relative to GT, and the measured separation alone (no GT term).
console.log("block | margin median: correct   wrong | % < 0: correct wrong | Mann–Whitney correct vs wrong: two-sided  greater  less  P(c>w) | measured IDs point the relation's way: correct wrong");
const sweep = dev.layers.map((L) => lm.summariseDeviation(dev, L));
for (const s of sweep)
  console.log(`${String(s.layer).padStart(5)}${s.layer === LAYER ? "*" : " "}| ${f2(s.correct.median).padStart(22)} ${f2(s.wrong.median).padStart(7)} | ` +
    `${pct(s.correct.negative).padStart(14)} ${pct(s.wrong.negative).padStart(5)} | ${pfmt(s.test.twoSided).padStart(40)} ${pfmt(s.test.greater).padStart(8)} ${pfmt(s.test.less).padStart(5)} ${f2(s.test.effectSize).padStart(7)} | ` +
    `${pct(s.separation.correctPositive).padStart(44)} ${pct(s.separation.wrongPositive).padStart(5)}`);
const at = lm.summariseDeviation(dev, LAYER);
const gtSep = (ok: boolean) => dev.questions.filter((q) => q.correct === ok).map((q) => q.perLayer[dev.layers.indexOf(LAYER)]).map((g) => g.separation - g.margin);
const meSep = (ok: boolean) => dev.questions.filter((q) => q.correct === ok).map((q) => q.perLayer[dev.layers.indexOf(LAYER)].separation);
console.log(`\nblock ${LAYER}: measured separation median correct ${f2(lm.median(meSep(true)))}, wrong ${f2(lm.median(meSep(false)))}; ` +
  `GT separation median correct ${f2(lm.median(gtSep(true)))}, wrong ${f2(lm.median(gtSep(false)))} ` +
  `(the GT comes from full-cell objects on black grid tiles; the clutter scenes' measured IDs are on another scale, so correct answers' margins are not centred on 0 either)`);
'''),
    code(r'''
const subsets = ["all", ...lm.FAILURE_TASKS] as const;
const devPanels = subsets.map((sub) => {
  const s = lm.summariseDeviation(dev, LAYER, sub);
  return { s, panel: {
    title: `${sub === "all" ? "all questions" : sub} — block ${LAYER}`, xLabel: "Margin relative to GT", bins: 10,
    annotation: `U-test correct > wrong p = ${pfmt(s.test.greater)}`,
    groups: [
      { name: "Correct", values: s.margins.correct, color: "steelblue", opacity: 0.7 },
      { name: "Wrong", values: s.margins.wrong, color: "salmon", opacity: 0.7 },
    ].filter((g) => g.values.length > 0),
  } };
});
lm.plot.histograms({
  title: `Fig 8a on ${model.name}: margin relative to GT, correct vs wrong answers (block ${LAYER})`,
  caption: "Density histograms (10 shared bins). Margin = how much more strongly the measured spatial IDs (image − text-only run, " +
    "projected on h, v) express the asked relation than the GT IDs interpolated at the boxes' centres; negative = under-expressed.",
  panels: devPanels.map((p) => p.panel),
});
for (const { s, panel } of devPanels) {
  console.log(`${panel.title}: correct n = ${s.correct.n}, mean ${f2(s.correct.mean)}, min/q25/median/q75/max ${quartiles(s.margins.correct)}; ` +
    `wrong n = ${s.wrong.n}, mean ${f2(s.wrong.mean)}, ${quartiles(s.margins.wrong)}; Mann–Whitney two-sided ${pfmt(s.test.twoSided)}, ` +
    `greater ${pfmt(s.test.greater)}, less ${pfmt(s.test.less)}`);
  binTable(panel.groups, 10);
}
'''),
    code(r'''
const devChecks = lm.describeDeviationClaim(at);
const blocksBoth = sweep.filter((s) => lm.describeDeviationClaim(s).every((c) => c.pass)).map((s) => s.layer);
verdicts(devChecks);
console.log(`blocks where both 8a checks hold: ${blocksBoth.join(", ") || "none"} of ${dev.layers.length}`);
const devOk = devChecks.every((c) => c.pass);
console.log(`=> Fig 8a: ${devOk ? "REPRODUCED" : devChecks.some((c) => c.pass) ? "PARTLY REPRODUCED" : "NOT REPRODUCED"} on ${model.name} at block ${LAYER}: ` +
  (devOk ? "wrongly answered questions are those whose measured spatial IDs under-express the asked relation relative to the ground truth; " +
    `their measured IDs point the relation's way in ${pct(at.separation.wrongPositive)} of cases vs ${pct(at.separation.correctPositive)} for correct answers`
    : "see the failed check above"));
'''),
    md(r'''
## (b) Image masking
Per question K + 2 images (original, subject blurred, K random same-size boxes that intersect neither asked object),
one forward each, batched. The authors' blur strength scaled to the image (sigma ≈ 2 px here, where an object is
12–22 px and an image token covers 16×16 px) and a stronger blur as a sensitivity check. Split by the 8a verdict.
'''),
    code(r'''
const maskBar = lm.progress(2 * samples.length, { label: "fig08b questions (sigma, then the stronger sigma)" });
const mask = await lm.run(() => lm.imageMasking(model, samples, { k: K, sigma: SIGMA, seed: BOX_SEED, onProgress: (d) => maskBar.set(d) }));
const maskStrong = await lm.run(() => lm.imageMasking(model, samples, { k: K, sigma: SIGMA_STRONG, seed: BOX_SEED, onProgress: (d) => maskBar.set(samples.length + d) }));
maskBar.done();
for (const m of [mask, maskStrong])
  console.log(`sigma ${f2(m.sigma)} px: ${m.questions.length} questions, ${m.runs} decoder runs in ${m.sessionCalls} session calls, ${m.seconds.toFixed(1)} s; ` +
    `random boxes per question ${Math.min(...m.questions.map((q) => q.boxes.length))}–${Math.max(...m.questions.map((q) => q.boxes.length))}, ${m.noRoom} without room`);
'''),
    code(r'''
const maskRuns = [
  { name: `sigma ${f2(SIGMA)} px (authors' scale)`, s: lm.summariseMasking(mask, dev) },
  { name: `sigma ${f2(SIGMA_STRONG)} px (stronger)`, s: lm.summariseMasking(maskStrong, dev) },
  { name: `sigma ${f2(SIGMA)} px, authors' 4 random blurs`, s: lm.summariseMasking(mask, dev, "authors") },
];
const maskPanels = maskRuns.map(({ name, s }) => ({
  title: name, xLabel: "min lp(correct | random blur) − lp(correct | subject blurred)", bins: 15,
  annotation: `U-test wrong > correct p = ${pfmt(s.test.greater)}`,
  groups: [
    { name: "Correct", values: s.diffs.correct, color: "blue", opacity: 0.5 },
    { name: "Wrong", values: s.diffs.wrong, color: "red", opacity: 0.3 },
  ].filter((g) => g.values.length > 0),
}));
lm.plot.histograms({
  title: `Fig 8b on ${model.name}: is blurring the subject worse than blurring anywhere else? (split by the 8a verdict)`,
  caption: "Density histograms (15 shared bins). Positive = blurring the subject lowers the correct answer's log-prob more than every " +
    "random same-size blur does. The paper's LLaVA: failures (red) lie to the right of successes.",
  panels: maskPanels,
});
for (const [i, { name, s }] of maskRuns.entries()) {
  console.log(`${name}: correct n = ${s.correct.n}, median ${f3(s.correct.median)}, min/q25/median/q75/max ${quartiles(s.diffs.correct)}; ` +
    `wrong n = ${s.wrong.n}, median ${f3(s.wrong.median)}, ${quartiles(s.diffs.wrong)}; Mann–Whitney (wrong vs correct) two-sided ${pfmt(s.test.twoSided)}, ` +
    `greater ${pfmt(s.test.greater)}, less ${pfmt(s.test.less)}; excluded ${s.excluded}, 8a/8b verdict mismatches ${s.verdictMismatch}`);
  console.log(`  mean lp(correct): correct answers original ${f3(s.meanLp.correct[0])}, subject blurred ${f3(s.meanLp.correct[1])}, random blurs ${f3(s.meanLp.correct[2])}; ` +
    `wrong answers ${f3(s.meanLp.wrong[0])}, ${f3(s.meanLp.wrong[1])}, ${f3(s.meanLp.wrong[2])}`);
  binTable(maskPanels[i].groups, 15);
}
'''),
    code(r'''
// How much does any blur move the answer? Mean change of lp(correct) from the original: subject blur, and mean |change|
// under the random blurs (how jittery each group's answer is under blurs that hide neither object).
const sensitivity = (m: typeof mask, ok: boolean) => {
  const qs = m.questions.filter((q) => (dev.questions.find((d) => d.task === q.task && d.index === q.index)?.correct ?? q.correct) === ok);
  const subj = lm.mean(qs.map((q) => q.lpCorrect[1] - q.lpCorrect[0]));
  const rand = lm.mean(qs.map((q) => lm.mean(q.lpCorrect.slice(2).map((v) => Math.abs(v - q.lpCorrect[0])))));
  return { subj, rand };
};
const sens = [mask, maskStrong].map((m) => ({ sigma: m.sigma, c: sensitivity(m, true), w: sensitivity(m, false) }));
for (const x of sens)
  console.log(`sigma ${f2(x.sigma)} px: Δlp(correct) by the subject blur: correct answers ${f3(x.c.subj)}, wrong ${f3(x.w.subj)}; ` +
    `mean |Δlp(correct)| under random blurs: correct ${f3(x.c.rand)}, wrong ${f3(x.w.rand)}`);
const maskChecks = lm.describeMaskingClaim(maskRuns[0].s);
const strongChecks = lm.describeMaskingClaim(maskRuns[1].s);
verdicts(maskChecks);
verdicts(strongChecks.map((c) => ({ ...c, name: `${c.name} [stronger blur]` })));
const s0 = maskRuns[0].s, s1 = maskRuns[1].s;
const any = maskChecks.every((c) => c.pass) || strongChecks.every((c) => c.pass);
console.log(`=> Fig 8b: ${maskChecks.every((c) => c.pass) ? "REPRODUCED" : "NOT REPRODUCED"} (the paper's LLaVA pattern) on ${model.name}` +
  `${!maskChecks.every((c) => c.pass) && strongChecks.every((c) => c.pass) ? ", but it appears with the stronger blur" : ""}. ` +
  `At the authors' blur scale (sigma ${f2(SIGMA)} px) the subject blur barely moves the answer (Δlp(correct) ${f3(sens[0].c.subj)} / ${f3(sens[0].w.subj)} for ` +
  `correct / wrong answers) and failures come out ${s0.test.less < 0.05 ? `*less* sensitive than successes (Mann–Whitney 'less' p = ${pfmt(s0.test.less)})` : `no more sensitive than successes (two-sided p = ${pfmt(s0.test.twoSided)})`}; ` +
  `failures' answers are also more jittery under random blurs (mean |Δlp| ${f3(sens[0].w.rand)} vs ${f3(sens[0].c.rand)}), which lowers the min over random blurs for them. ` +
  `With a blur that matters (sigma ${f2(SIGMA_STRONG)} px: Δlp(correct) ${f3(sens[1].c.subj)} / ${f3(sens[1].w.subj)}) the two groups ` +
  `${s1.test.twoSided < 0.05 ? `differ (two-sided p = ${pfmt(s1.test.twoSided)}, P(wrong > correct) = ${f2(s1.test.effectSize)})` : `do not differ (two-sided p = ${pfmt(s1.test.twoSided)})`}` +
  `${any ? "" : ": no sign that the toy's failures depend more on the subject's pixels than its successes do (the paper's vision-encoder reading for LLaVA); " +
    "the paper reports that absence for Llama-3.2-Vision"}.`);
'''),
]

write("fig08-failure-diagnosis", cells)
