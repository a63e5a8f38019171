import { test } from "node:test";
import assert from "node:assert/strict";
import { ALL_OBJECTS, HELDOUT_OBJECTS, PAPER_OBJECTS, TRAIN_OBJECTS, blankImage, paste, sprite, checkObjectName } from "linmech";

test("objects: the paper's ten plus ≥ 20 more, single lowercase words, ≥ 4 held out (none of the paper's)", () => {
  for (const n of PAPER_OBJECTS) assert.ok(ALL_OBJECTS.includes(n), n);
  assert.ok(ALL_OBJECTS.length >= 30, `only ${ALL_OBJECTS.length} objects`);
  for (const n of ALL_OBJECTS) assert.match(n, /^[a-z]+$/);
  assert.ok(HELDOUT_OBJECTS.length >= 4);
  for (const h of HELDOUT_OBJECTS) {
    assert.ok(ALL_OBJECTS.includes(h));
    assert.ok(!PAPER_OBJECTS.includes(h), `${h} is one of the paper's objects`);
    assert.ok(!TRAIN_OBJECTS.includes(h));
  }
  assert.equal(TRAIN_OBJECTS.length + HELDOUT_OBJECTS.length, ALL_OBJECTS.length);
});

test("objects: every object rasterises at 16 and 64 px and stays visible on black", async () => {
  for (const name of ALL_OBJECTS) {
    for (const size of [16, 64]) {
      const s = await sprite(name, size);
      assert.equal(s.rgba.length, size * size * 4);
      const [x0, y0, x1, y1] = s.box;
      assert.ok(x1 - x0 >= size / 4 && y1 - y0 >= size / 4, `${name}@${size}: box ${s.box} too small`);
      // on a black canvas, a good share of the object's pixels must be clearly brighter than the background
      const img = blankImage(size, size);
      paste(img, s, 0, 0);
      let opaque = 0, bright = 0;
      for (let p = 0; p < size * size; p++) {
        if (s.rgba[p * 4 + 3] < 128) continue;
        opaque++;
        const lum = 0.299 * img.data[p * 3] + 0.587 * img.data[p * 3 + 1] + 0.114 * img.data[p * 3 + 2];
        if (lum > 40) bright++;
      }
      assert.ok(opaque > 0 && bright / opaque > 0.5, `${name}@${size}: only ${bright}/${opaque} visible pixels on black`);
    }
  }
  // cached: the same promise result object comes back
  assert.equal(await sprite("frog", 16), await sprite("frog", 16));
});

test("objects: unknown names and bad sizes give one clear error", () => {
  assert.throws(() => checkObjectName("unicorn"), /unknown object "unicorn": use one of backpack, fan/);
  assert.throws(() => sprite("unicorn", 16), /unknown object "unicorn"/);
  assert.throws(() => sprite("frog", 0), /size must be an integer/);
  assert.throws(() => sprite("frog", 2.5), /size must be an integer/);
});
