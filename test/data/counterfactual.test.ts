import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  blurBox, createRng, fromImageFile, generateScene, gridTile, mirrorImage, mirrorSample, randomBoxesLike, randomRainbow,
  recolourRainbow, reverseSample, streamRng, writeSceneDataset, writeWhatsUpDataset, type Box,
} from "linmech";
import { centre, changedPixels, litPixels, sameBytes } from "./helpers";

test("mirror: flips pixels, boxes and cells, and swaps left/right answers and captions", async () => {
  for (let i = 0; i < 20; i++) {
    const s = await generateScene("grid-lr", { seed: 2, index: i });
    const m = mirrorSample(s);
    assert.notEqual(m.meta.answer, s.meta.answer);
    assert.equal(m.meta.answer, m.meta.cells![0][0] < m.meta.cells![1][0] ? "left" : "right");
    for (let k = 0; k < 2; k++) assert.ok(litPixels(m.frames[0], m.meta.boxes[k]) > 0.3 * (m.meta.boxes[k][2] - m.meta.boxes[k][0]) * (m.meta.boxes[k][3] - m.meta.boxes[k][1]));
    assert.ok(sameBytes(mirrorImage(m.frames[0]).data, s.frames[0].data), "mirroring twice is not the identity");
  }
  const c = await generateScene("clutter-lr", { seed: 2, index: 0 });
  const mc = mirrorSample(c);
  assert.equal(mc.meta.caption_true, c.meta.caption_false);
  assert.equal(mc.meta.caption_false, c.meta.caption_true);
  assert.equal(centre(mc.meta.boxes[0])[0] < centre(mc.meta.boxes[1])[0], mc.meta.answer === "left");
  // above/below does not change under a left-right flip; column answers and cell questions do
  const ab = await generateScene("grid-ab", { seed: 2, index: 1 });
  assert.equal(mirrorSample(ab).meta.answer, ab.meta.answer);
  const col = await generateScene("grid-where-col", { seed: 2, index: 3 });
  assert.equal(mirrorSample(col).meta.answer, `c${3 - Number(col.meta.answer[1])}`);
  const what = await generateScene("grid-what", { seed: 2, index: 4 });
  const mw = mirrorSample(what);
  const t = mw.meta.cells![what.meta.target as number];
  assert.equal(mw.meta.question, `What is in cell r${t[1]} c${t[0]}?`);
  assert.equal(mw.meta.answer, what.meta.answer);
});

test("reverse: reversed clips flip before/after and scene frames", async () => {
  for (let i = 0; i < 10; i++) {
    const s = await generateScene("video-order", { seed: 4, index: i });
    const r = reverseSample(s);
    assert.equal(r.meta.answer, s.meta.answer === "before" ? "after" : "before");
    assert.equal(r.frames[0], s.frames[7]);
    const [sf] = r.meta.scene_frames as number[][];
    assert.equal(r.meta.answer, sf[0] === 0 ? "before" : "after");
  }
  const a = await generateScene("video-appear", { seed: 4, index: 0 });
  assert.ok(Array.isArray(reverseSample(a).meta.visible_frames));
  const g = await generateScene("grid-lr", { seed: 4, index: 0 });
  assert.throws(() => reverseSample(g), /at least 2 frames/);
});

test("rainbow: seeded, changes hues, keeps brightness (V) and black pixels", async () => {
  const t = await gridTile({ a: "frog", b: "apple", cellA: [0, 0], cellB: [3, 3], canvas: 64 });
  const p1 = randomRainbow(streamRng(1, "rainbow")), p2 = randomRainbow(streamRng(1, "rainbow"));
  assert.deepEqual(p1, p2);
  const r = recolourRainbow(t.image, p1);
  assert.ok(sameBytes(r.data, recolourRainbow(t.image, p2).data));
  let changed = 0;
  for (let i = 0; i < r.data.length; i += 3) {
    const v0 = Math.max(t.image.data[i], t.image.data[i + 1], t.image.data[i + 2]);
    const v1 = Math.max(r.data[i], r.data[i + 1], r.data[i + 2]);
    assert.ok(Math.abs(v0 - v1) <= 1, `V changed at ${i / 3}: ${v0} → ${v1}`);
    if (v0 === 0) assert.equal(v1, 0);
    if (Math.abs(r.data[i] - t.image.data[i]) + Math.abs(r.data[i + 1] - t.image.data[i + 1]) + Math.abs(r.data[i + 2] - t.image.data[i + 2]) > 30) changed++;
  }
  assert.ok(changed > 50, `only ${changed} pixels recoloured`);
  const other = recolourRainbow(t.image, randomRainbow(streamRng(2, "rainbow")));
  assert.ok(!sameBytes(r.data, other.data));
  // a box limits the recolouring
  const boxed = recolourRainbow(t.image, p1, t.boxes[0]);
  assert.equal(changedPixels(boxed, t.image, t.boxes[1]), 0);
});

test("blur: only the box changes and it gets smoother; random control boxes avoid the objects", async () => {
  const s = await generateScene("clutter-lr", { seed: 6, index: 2 });
  const img = s.frames[0], box = s.meta.boxes[0];
  const b = await blurBox(img, box, 2);
  assert.equal(changedPixels(b, img, [0, 0, 64, box[1]]) + changedPixels(b, img, [0, box[3], 64, 64]) + changedPixels(b, img, [0, 0, box[0], 64]) + changedPixels(b, img, [box[2], 0, 64, 64]), 0);
  assert.ok(changedPixels(b, img, box, 2) > 0.3 * (box[2] - box[0]) * (box[3] - box[1]));
  const rough = (im: typeof img) => {
    let sum = 0;
    for (let y = box[1]; y < box[3]; y++) for (let x = box[0] + 1; x < box[2]; x++) sum += Math.abs(im.data[(y * 64 + x) * 3 + 1] - im.data[(y * 64 + x - 1) * 3 + 1]);
    return sum;
  };
  assert.ok(rough(b) < 0.7 * rough(img), `blurred roughness ${rough(b)} vs ${rough(img)}`);
  await assert.rejects(blurBox(img, box, 0), /sigma must be in 0\.3\.\.1000/);
  await assert.rejects(blurBox(img, [70, 70, 80, 80], 2), /outside the 64x64 image/);
  const controls = randomBoxesLike(createRng(3), box, 10, s.meta.boxes.slice(0, 2), 64, 64);
  assert.equal(controls.length, 10);
  for (const c of controls) {
    assert.equal(c[2] - c[0], box[2] - box[0]);
    assert.equal(c[3] - c[1], box[3] - box[1]);
    for (const a of s.meta.boxes.slice(0, 2) as Box[]) assert.ok(c[2] <= a[0] || a[2] <= c[0] || c[3] <= a[1] || a[3] <= c[1], `control ${c} hits ${a}`);
  }
});

test("datasets: PNG folders round-trip the generated pixels; What'sUp rows carry both captions", async () => {
  const out = mkdtempSync(join(tmpdir(), "wu-"));
  const recs = await writeWhatsUpDataset({ n: 6, seed: 8, out });
  const rows = JSON.parse(readFileSync(join(out, "whatsup.json"), "utf8"));
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[0], [recs[0].image, recs[0].caption_true, recs[0].caption_false]);
  assert.deepEqual(recs.map((r) => r.task), ["clutter-lr", "clutter-ab", "clutter-lr", "clutter-ab", "clutter-lr", "clutter-ab"]);
  const png = await fromImageFile(join(out, recs[1].image));
  const s = await generateScene("clutter-ab", { seed: 8, index: 1 });
  assert.ok(sameBytes(png.data, s.frames[0].data));
  assert.deepEqual(JSON.parse(readFileSync(join(out, "records.json"), "utf8"))[1].boxes, s.meta.boxes);
  const vout = mkdtempSync(join(tmpdir(), "vid-"));
  const v = await writeSceneDataset({ tasks: "video-order", n: 1, seed: 1, out: vout });
  assert.ok(existsSync(join(vout, v[0].image, "frame7.png")));
  await assert.rejects(writeWhatsUpDataset({ n: 2, seed: 1, out, tasks: ["grid-lr"] }), /clutter-lr \/ clutter-ab/);
  await assert.rejects(writeSceneDataset({ tasks: "grid-lr", n: 0, seed: 1, out }), /n must be a positive integer/);
});
