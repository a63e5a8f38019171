import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracy,
  accuracyDrop,
  allLayerSummary,
  answerMargin,
  answerVerdict,
  authorsNanToZero,
  beliefShift,
  beliefShiftGt,
  beliefShiftPerWord,
  flipHeadline,
  flipRate,
  flipRatesByLayer,
  isFlipped,
  marginRelativeToGt,
  summariseShifts,
  topLayerSummary,
} from "linmech";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("belief shift: 1 = fully swapped, 0 = no effect, per answer word", () => {
  assert.equal(beliefShift(-1, -3, -3), 1);
  assert.equal(beliefShift(-1, -1, -3), 0);
  assert.equal(beliefShift(-1, -2, -3), 0.5);
  const s = beliefShiftPerWord({ left: -0.1, right: -2.5 }, { left: -1.1, right: -1.5 }, { left: -2.1, right: -0.5 });
  close(s.left, 0.5);
  close(s.right, 0.5);
  assert.throws(() => beliefShiftPerWord({ left: 0 }, {} as { left: number }, { left: 1 }), /missing/);
});

test("belief shift: zero denominator gives NaN, counted; the authors' NaN→0 is available", () => {
  assert.ok(Number.isNaN(beliefShift(-1, -2, -1)));
  assert.ok(Number.isNaN(beliefShift(-Infinity, -2, -1)));
  assert.equal(authorsNanToZero(NaN), 0);
  assert.equal(authorsNanToZero(Infinity), 0);
  const values = [1, 0, NaN, 0.5];
  assert.deepEqual(summariseShifts(values), { mean: 0.5, std: Math.sqrt(1 / 6), n: 3, undefinedCount: 1 });
  const z = summariseShifts(values, "zero");
  assert.equal(z.n, 4);
  assert.equal(z.mean, 0.375);
  assert.equal(z.undefinedCount, 1);
});

test("belief shift: GT-conditioned form on probabilities (paper) or log-probs (authors' ratio)", () => {
  const orig = { left: Math.log(0.8), right: Math.log(0.2) };
  const patched = { left: Math.log(0.5), right: Math.log(0.5) };
  const cf = { left: Math.log(0.2), right: Math.log(0.8) };
  close(beliefShiftGt(orig, patched, cf, "left"), (0.8 - 0.5) / (0.8 - 0.2));
  close(beliefShiftGt(orig, patched, cf, "left", "logprob"), Math.log(0.8 / 0.5) / Math.log(0.8 / 0.2));
});

test("flips: sign change of lp(GT) − lp(other); zero margins are excluded and counted", () => {
  assert.equal(answerMargin(-0.2, -1.7), 1.5);
  assert.equal(isFlipped(1, -0.5), true);
  assert.equal(isFlipped(-1, -0.5), false);
  assert.equal(isFlipped(0, 1), null);
  assert.equal(isFlipped(1, 0), null);
  assert.equal(isFlipped(NaN, 1), null);
  const r = flipRate([{ d0: 1, d1: -1 }, { d0: 1, d1: 2 }, { d0: -1, d1: 3 }, { d0: 0, d1: 1 }, { d0: 2, d1: 0 }]);
  assert.deepEqual(r, { rate: 2 / 3, flipped: 2, counted: 3, excluded: 2 });
  assert.ok(Number.isNaN(flipRate([{ d0: 0, d1: 0 }]).rate));
  const byLayer = flipRatesByLayer(new Map([[3, [{ d0: 1, d1: -1 }]], [4, [{ d0: 1, d1: 1 }]]]));
  assert.equal(byLayer.get(3)?.rate, 1);
  assert.equal(byLayer.get(4)?.rate, 0);
});

test("flips: top-3 layers by ID rate, control at the same layers; all-layer summary; headline", () => {
  const id = new Map([[8, 0.2], [9, 0.7], [10, 0.9], [11, 0.5], [12, 0.6], [13, NaN]]);
  const noise = new Map([[8, 0.1], [9, 0.3], [10, 0.2], [11, 0.4], [12, 0.1], [13, 0.5]]);
  const top = topLayerSummary(id, noise, 3);
  assert.deepEqual(top.layers, [10, 9, 12]);
  close(top.id.mean, (0.9 + 0.7 + 0.6) / 3);
  close(top.id.std, Math.sqrt(((0.9 - 2.2 / 3) ** 2 + (0.7 - 2.2 / 3) ** 2 + (0.6 - 2.2 / 3) ** 2) / 3));
  close(top.control.mean, (0.2 + 0.3 + 0.1) / 3);
  const all = allLayerSummary(id, noise);
  assert.deepEqual(all.layers, [8, 9, 10, 11, 12]);
  close(all.id.mean, 2.9 / 5);
  close(all.control.mean, 1.1 / 5);
  assert.throws(() => topLayerSummary(id, noise, 6), /only 5 layers/);
  assert.throws(() => allLayerSummary(new Map([[1, 0.5]]), new Map([[2, 0.5]])), /no layer/);
  const h = flipHeadline([{ id: 0.6, control: 0.3 }, { id: 0.7, control: 0.2 }, { id: 0.5, control: 0.4 }]);
  close(h.medianId, 0.6);
  close(h.medianControl, 0.3);
  close(h.meanNetGain, 0.3);
  close(h.medianNetGain, 0.3);
});

test("steerability: verdicts, accuracy over all answers, drop with and without noise subtraction", () => {
  assert.equal(answerVerdict("Left.", "left", "right"), "correct");
  assert.equal(answerVerdict("It is on the RIGHT", "left", "right"), "wrong");
  assert.equal(answerVerdict("left or right?", "left", "right"), "nonsense");
  assert.equal(answerVerdict("the leftmost one", "left", "right"), "nonsense");
  assert.equal(answerVerdict("the leftmost one", "left", "right", "substring"), "correct");
  assert.equal(accuracy(["correct", "wrong", "nonsense", "correct"]), 0.5);
  const s = accuracyDrop(0.8, new Map([[6, 0.5], [7, 0.3], [8, 0.7]]), new Map([[6, 0.8], [7, 0.7]]));
  assert.deepEqual(s.layers, [6, 7]);
  s.drops.forEach((d, i) => close(d, [0.3, 0.5][i]));
  close(s.mean, 0.4);
  close(s.std, 0.1);
  s.noiseSubtracted?.drops.forEach((d, i) => close(d, [0.3, 0.4][i]));
  close(s.noiseSubtracted?.mean ?? NaN, 0.35);
  const authors = accuracyDrop(0.8, new Map([[6, 0.5], [7, 0.3], [8, 0.7]]));
  close(authors.mean, (0.3 + 0.5 + 0.1) / 3);
  assert.equal(authors.noiseSubtracted, undefined);
});

test("Fig 8a margin: relation separation minus the ground truth's", () => {
  const measured = { subject: { x: 2, y: 1 }, object: { x: -1, y: 3 } };
  const gt = { subject: { x: 1, y: 0 }, object: { x: 0, y: 0 } };
  assert.equal(marginRelativeToGt("right", measured, gt), 3 - 1);
  assert.equal(marginRelativeToGt("left", measured, gt), -3 + 1);
  assert.equal(marginRelativeToGt("below", measured, gt), -2 - 0);
  assert.equal(marginRelativeToGt("above", measured, gt), 2 - 0);
  assert.throws(() => marginRelativeToGt("right", { ...measured, subject: { x: NaN, y: 0 } }, gt), /non-finite/);
});
