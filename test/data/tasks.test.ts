import { test } from "node:test";
import assert from "node:assert/strict";
import { ALL_OBJECTS, FAR_BAND, HELDOUT_OBJECTS, NEAR_BAND, TASK_NAMES, generateScene, getTask, type TaskSample } from "linmech";
import { centre, changedPixels, sameBytes } from "./helpers";

const CONTRACT = ["grid-lr", "grid-ab", "grid-where-col", "grid-where-row", "grid-what", "clutter-lr", "clutter-ab", "nearfar", "inbetween", "frontbehind", "video-appear", "video-order"];

async function scenes(task: string, n: number, split: "train" | "heldout" = "train", seed = 7): Promise<TaskSample[]> {
  const out: TaskSample[] = [];
  for (let i = 0; i < n; i++) out.push(await generateScene(task, { seed, index: i, split }));
  return out;
}

test("tasks: every contract task exists, is deterministic and answers one allowed lowercase word", async () => {
  for (const t of CONTRACT) assert.ok(TASK_NAMES.includes(t), t);
  for (const task of TASK_NAMES) {
    const def = getTask(task);
    const a = await generateScene(task, { seed: 3, index: 5 }), b = await generateScene(task, { seed: 3, index: 5 });
    assert.equal(a.frames.length, def.frames);
    a.frames.forEach((f, k) => assert.ok(sameBytes(f.data, b.frames[k].data), `${task} frame ${k} differs between runs`));
    assert.deepEqual(a.meta, b.meta);
    const c = await generateScene(task, { seed: 3, index: 6 });
    assert.ok(!sameBytes(a.frames[0].data, c.frames[0].data) || a.frames.length > 1, `${task}: scenes 5 and 6 are identical`);
    const allowed = def.answers === "objects" ? ALL_OBJECTS : def.answers;
    for (const s of await scenes(task, 20)) {
      assert.match(s.meta.answer, /^[a-z0-9]+$/);
      assert.ok(allowed.includes(s.meta.answer), `${task}: answer ${s.meta.answer}`);
      assert.equal(s.meta.task, task);
      assert.equal(s.meta.boxes.length, s.meta.objects.length);
      const asked = def.kind === "grounding" ? (task === "grid-what" ? [] : [s.meta.objects[s.meta.target as number]]) : s.meta.objects.slice(0, task === "inbetween" ? 3 : 2);
      for (const o of asked) assert.ok(s.meta.question.includes(` ${o}`), `${task}: ${o} not in "${s.meta.question}"`);
    }
  }
});

test("tasks: binary answers are balanced (400 scenes each, 40–60 %)", async () => {
  for (const task of TASK_NAMES) {
    const def = getTask(task);
    if (def.answers === "objects" || def.answers.length !== 2) continue;
    const ss = await scenes(task, 400, "train", 11);
    const share = ss.filter((s) => s.meta.answer === def.answers[0]).length / ss.length;
    assert.ok(share > 0.4 && share < 0.6, `${task}: ${def.answers[0]} share ${share}`);
  }
  const cols = (await scenes("grid-where-col", 400)).map((s) => s.meta.answer);
  for (const c of ["c0", "c1", "c2", "c3"]) assert.ok(cols.filter((x) => x === c).length > 60, c);
});

test("tasks: answers agree with the geometry of the ground truth", async () => {
  for (const s of await scenes("grid-lr", 50)) {
    const [cs, cr] = s.meta.cells!;
    assert.equal(s.meta.answer, cs[0] < cr[0] ? "left" : "right");
    assert.ok(centre(s.meta.boxes[0])[0] < centre(s.meta.boxes[1])[0] === (s.meta.answer === "left"));
  }
  for (const s of await scenes("grid-ab", 50)) assert.equal(s.meta.answer, s.meta.cells![0][1] < s.meta.cells![1][1] ? "above" : "below");
  for (const s of await scenes("grid-where-row", 30)) assert.equal(s.meta.answer, `r${s.meta.cells![s.meta.target as number][1]}`);
  for (const s of await scenes("grid-what", 30)) {
    const t = s.meta.target as number;
    assert.equal(s.meta.answer, s.meta.objects[t]);
    assert.equal(s.meta.question, `What is in cell r${s.meta.cells![t][1]} c${s.meta.cells![t][0]}?`);
  }
  for (const task of ["clutter-lr", "clutter-ab"]) {
    const k = task === "clutter-lr" ? 0 : 1;
    for (const s of await scenes(task, 50)) {
      const d = centre(s.meta.boxes[0])[k] - centre(s.meta.boxes[1])[k];
      assert.ok(Math.abs(d) >= 0.15 * 64 - 1, `${task}: offset ${d} below the margin`);
      assert.equal(s.meta.answer, d < 0 ? (k === 0 ? "left" : "above") : k === 0 ? "right" : "below");
      assert.ok((s.meta.caption_true as string).startsWith(`A photo of a`) && s.meta.caption_true !== s.meta.caption_false);
      assert.ok(s.meta.objects.length >= 2 && s.meta.objects.length <= 5);
    }
  }
  for (const s of await scenes("nearfar", 50)) {
    const d = s.meta.distance as number, band = s.meta.answer === "near" ? NEAR_BAND : FAR_BAND;
    assert.ok(d >= band[0] - 1e-3 && d <= band[1] + 1e-3, `nearfar distance ${d} for ${s.meta.answer}`);
  }
  for (const s of await scenes("frontbehind", 50)) {
    const [zs, zr] = s.meta.depths as number[];
    assert.equal(s.meta.answer, zs < zr ? "front" : "behind");
    // the nearer object is drawn larger and stands lower in the frame
    const [bs, br] = s.meta.boxes;
    assert.equal((s.meta.sizes as number[])[0] > (s.meta.sizes as number[])[1], s.meta.answer === "front");
    assert.equal(bs[3] > br[3] || (bs[3] === br[3] && s.meta.answer === "front"), s.meta.answer === "front");
  }
  for (const s of await scenes("inbetween", 50)) {
    const t = s.meta.t as number, off = Math.abs(s.meta.offset as number);
    const between = t > 0.25 && t < 0.75 && off < 0.1 * 64;
    assert.equal(s.meta.answer, between ? "yes" : "no", `t=${t} offset=${off}`);
  }
});

test("tasks: video pixels show objects exactly from their frames on", async () => {
  for (const s of await scenes("video-appear", 20)) {
    const [fs, fr] = s.meta.appear as number[];
    assert.notEqual(fs, fr);
    assert.equal(s.meta.answer, fs < fr ? "before" : "after");
    for (const [k, f] of [[0, fs], [1, fr]]) {
      const box = s.meta.boxes[k];
      assert.ok(changedPixels(s.frames[f - 1], s.frames[f], box) > 5, `object ${k} does not appear at frame ${f}`);
      for (let g = 1; g < 8; g++) if (g !== fs && g !== fr) assert.equal(changedPixels(s.frames[g - 1], s.frames[g], [0, 0, 64, 64]), 0);
    }
  }
  for (const s of await scenes("video-order", 20)) {
    const [sf] = s.meta.scene_frames as number[][];
    assert.equal(s.meta.answer, sf[0] === 0 ? "before" : "after");
    assert.ok(changedPixels(s.frames[3], s.frames[4], [0, 0, 64, 64]) > 1000, "no scene cut between frames 3 and 4");
  }
});

test("tasks: held-out objects never appear in train relation scenes; heldout scenes ask about one", async () => {
  for (const task of TASK_NAMES) {
    const def = getTask(task);
    const train = await scenes(task, 150, "train", 5);
    const seen = new Set(train.flatMap((s) => s.meta.objects));
    if (def.kind === "relation") {
      for (const h of HELDOUT_OBJECTS) assert.ok(!seen.has(h), `${task}: held-out ${h} in a train scene`);
      for (const s of await scenes(task, 30, "heldout", 5)) {
        const asked = s.meta.objects.slice(0, task === "inbetween" ? 3 : 2);
        assert.ok(asked.some((o) => HELDOUT_OBJECTS.includes(o)), `${task} heldout scene without a held-out object: ${asked}`);
      }
    } else {
      assert.ok(HELDOUT_OBJECTS.some((h) => seen.has(h)), `${task}: grounding train scenes never name a held-out object`);
    }
  }
  // the held-out split draws from another seed stream
  const a = await generateScene("grid-lr", { seed: 1, index: 0, split: "train" });
  const b = await generateScene("grid-lr", { seed: 1, index: 0, split: "heldout" });
  assert.ok(!sameBytes(a.frames[0].data, b.frames[0].data));
});

test("tasks: bad arguments give clear errors", async () => {
  assert.throws(() => getTask("grid-diagonal"), /unknown task "grid-diagonal": use one of grid-lr/);
  await assert.rejects(generateScene("grid-lr", { seed: 1, index: -1 }), /index must be a non-negative integer/);
  await assert.rejects(generateScene("grid-lr", { seed: 1, index: 0, split: "test" as never }), /split must be "train" or "heldout"/);
});
