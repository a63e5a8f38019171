import { test } from "node:test";
import assert from "node:assert/strict";
import { enumerateGrid, gridEnumerationCount, gridObjectSizes, gridTile, type Box } from "linmech";
import { litPixels, sameBytes } from "./helpers";

test("grid: tile pixels match ground truth (objects inside their cells, black elsewhere)", async () => {
  const t = await gridTile({ a: "camel", b: "frog", cellA: [0, 3], cellB: [2, 1], size: 14, canvas: 64 });
  assert.deepEqual(t.objects, ["camel", "frog"]);
  assert.deepEqual(t.cells, [[0, 3], [2, 1]]);
  const cellBox = (c: [number, number]): Box => [c[0] * 16, c[1] * 16, c[0] * 16 + 16, c[1] * 16 + 16];
  for (let k = 0; k < 2; k++) {
    const b = t.boxes[k], cb = cellBox(t.cells[k]);
    assert.ok(b[0] >= cb[0] && b[1] >= cb[1] && b[2] <= cb[2] && b[3] <= cb[3], `box ${b} outside cell ${cb}`);
    assert.ok(litPixels(t.image, b) > 0.3 * (b[2] - b[0]) * (b[3] - b[1]), `box ${b} mostly black`);
  }
  // nothing outside the two pasted squares; the tight boxes hold all but faint anti-aliased edge pixels
  const total = litPixels(t.image, [0, 0, 64, 64]);
  const squares = t.cells.map((c) => [c[0] * 16 + 1, c[1] * 16 + 1, c[0] * 16 + 15, c[1] * 16 + 15] as Box);
  assert.equal(total, litPixels(t.image, squares[0]) + litPixels(t.image, squares[1]), "lit pixels outside the pasted squares");
  const inBoxes = litPixels(t.image, t.boxes[0]) + litPixels(t.image, t.boxes[1]);
  assert.ok(inBoxes >= 0.95 * total, `${inBoxes} of ${total} lit pixels inside the boxes`);
});

test("grid: same arguments give identical bytes; different cells differ", async () => {
  const spec = { a: "dog", b: "teapot", cellA: [1, 1] as [number, number], cellB: [3, 0] as [number, number], size: 16, canvas: 64 };
  const x = await gridTile(spec), y = await gridTile(spec);
  assert.ok(sameBytes(x.image.data, y.image.data));
  const z = await gridTile({ ...spec, cellB: [3, 1] });
  assert.ok(!sameBytes(x.image.data, z.image.data));
});

test("grid: enumerator covers ordered pairs × cells × sizes like the paper (86,400 for 10 objects)", () => {
  assert.deepEqual(gridObjectSizes(64), [10, 12, 14, 16]);
  assert.deepEqual(gridObjectSizes(896), [140, 168, 196, 224]);
  assert.equal(gridEnumerationCount(), 10 * 9 * 16 * 15 * 4);
  const items = [...enumerateGrid({ objects: ["camel", "frog", "dog"], sizes: [16] })];
  assert.equal(items.length, gridEnumerationCount({ objects: ["camel", "frog", "dog"], sizes: [16] }));
  assert.equal(items.length, 3 * 2 * 16 * 15);
  const keys = new Set(items.map((i) => `${i.a}/${i.b}/${i.cellA}/${i.cellB}/${i.size}`));
  assert.equal(keys.size, items.length, "duplicates");
  for (const i of items) {
    assert.notEqual(i.a, i.b);
    assert.ok(i.cellA[0] !== i.cellB[0] || i.cellA[1] !== i.cellB[1]);
  }
});

test("grid: bad arguments give clear errors", async () => {
  await assert.rejects(gridTile({ a: "camel", b: "frog", cellA: [1, 2], cellB: [1, 2] }), /same cell \[1,2\]/);
  await assert.rejects(gridTile({ a: "camel", b: "unicorn", cellA: [0, 0], cellB: [1, 2] }), /unknown object b "unicorn"/);
  await assert.rejects(gridTile({ a: "camel", b: "frog", cellA: [4, 0], cellB: [1, 2] }), /cellA must be \[col, row\]/);
  await assert.rejects(gridTile({ a: "camel", b: "frog", cellA: [0, 0], cellB: [1, 2], size: 17 }), /object size must be an integer in 2\.\.16/);
  await assert.rejects(gridTile({ a: "camel", b: "frog", cellA: [0, 0], cellB: [1, 2], canvas: 50 }), /divisible by 4/);
  assert.throws(() => [...enumerateGrid({ objects: ["camel", "yeti"] })], /unknown object "yeti"/);
});
