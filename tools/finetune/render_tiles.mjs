// Renders grid tiles from a list of specifications with the project's scene engine (src/data/grid.ts gridTile, the
// same renderer as the grid-lr/grid-ab training shards), so the fine-tuning images come from the one scene engine
// the experiments use. tools/finetune/data.py writes the specification and reads the result.
//
//   node tools/finetune/render_tiles.mjs <specs.json> <images.u8>
// specs.json: [{ "a": reference, "b": subject, "cellA": [col,row], "cellB": [col,row], "size": px, "sizeB": px }, ...]
// images.u8:  uint8 [N, 64, 64, 3], row-major RGB, in the order of the specifications.
import { createRequire } from "node:module";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
const require = createRequire(import.meta.url);
const { gridTile } = require("../../src/dist/data/grid.js");

const [specPath, outPath] = process.argv.slice(2);
if (!specPath || !outPath) throw new Error("usage: node tools/finetune/render_tiles.mjs <specs.json> <images.u8>");
const specs = JSON.parse(readFileSync(specPath, "utf8"));
const fd = openSync(outPath, "w");
try {
  for (const s of specs) {
    const t = await gridTile({ a: s.a, b: s.b, cellA: s.cellA, cellB: s.cellB, size: s.size, sizeB: s.sizeB, canvas: 64 });
    if (t.image.width !== 64 || t.image.height !== 64) throw new Error(`tile is ${t.image.width}x${t.image.height}, expected 64x64`);
    writeSync(fd, t.image.data);
  }
} finally {
  closeSync(fd);
}
console.log(`rendered ${specs.length} tiles to ${outPath}`);
