// Universal spatial IDs of a bundle, computed (or loaded, when the artefact is current) with the TypeScript API
// `universalIdsFor` (src/experiments/steering.ts: the paper's ten objects, every decoder layer, seeded tiles) and
// saved as out/universal-ids/<model>.safetensors (+ .json sidecar), which tools/finetune/train.py reads with
// `safetensors.numpy.load_file`. Needs the TypeScript build (`npx tsc -b`).
//
//   node tools/finetune/universal_ids.mjs [model]        (default toy-llava-zoo-1000)
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const lm = require("../../src/dist/index.js");

const name = process.argv[2] ?? "toy-llava-zoo-1000";
const model = await lm.loadModel(name);
const t0 = Date.now();
const u = await lm.universalIdsFor(model, {});
console.log(JSON.stringify({ model: name, source: u.source, sites: u.sites, m: u.m, dim: u.dim,
  path: lm.universalIdsPath(name) + ".safetensors", bundleHash: u.info.bundleHash, seconds: (Date.now() - t0) / 1000 }));
await model.dispose?.();
