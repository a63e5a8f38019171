// InternVL3 (-hf layout: InternViT with CLS and layer scale, pixel shuffle, MLP projector, Qwen2 decoder; tiles as
// InternVLProcessor makes them): tiny seeded model vs PyTorch, plus tiling against transformers' values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { optimalTiledCanvas } from "linmech";
import { familyParity } from "./common";

familyParity("internvl3", (ctx) => {
  test("internvl3: a 2:1 image becomes two tiles and a thumbnail in one encoder call, wrapped in <img> ... </img>", async () => {
    const { model } = ctx();
    const S = model.meta.image_size, n = model.meta.tokens_per_image;
    const W = 2 * S, H = S;
    const data = new Uint8Array(W * H * 3).map((_, i) => (i * 37) % 251);
    const x = await model.prepare({ image: { data, width: W, height: H }, prompt: "Is the camel in the image?" });
    assert.deepEqual(x.pixelValues[0].dims, [3, 3, S, S]);
    assert.equal(x.imageTokens().length, 3 * n);
    const [span] = x.spans;
    assert.equal(x.tokens[span.start - 1], "<img>");
    assert.equal(x.tokens[span.start + span.length], "</img>");
    // tiles 0 and 1 are the two halves (no resize needed): the same pixels as preprocessing each half alone
    for (let k = 0; k < 2; k++) {
      const half = new Uint8Array(S * S * 3);
      for (let y = 0; y < S; y++) half.set(data.subarray((y * W + k * S) * 3, (y * W + k * S + S) * 3), y * S * 3);
      const one = await model.prepare({ image: { data: half, width: S, height: S }, prompt: "Is the camel in the image?" });
      assert.deepEqual(one.pixelValues[0].dims, [1, 3, S, S]);
      assert.deepEqual(x.pixelValues[0].data.subarray(k * 3 * S * S, (k + 1) * 3 * S * S), one.pixelValues[0].data);
    }
    const out = await model.patch(x, [], { generate: 2, logprobs: ["left"] });
    assert.ok(Number.isFinite(out.logprobs.left));
  });
});

test("optimalTiledCanvas equals transformers' get_optimal_tiled_canvas", () => {
  // values from transformers.models.got_ocr2.image_processing_pil_got_ocr2.get_optimal_tiled_canvas, min 1, max 12
  const cases: [number, number, number, [number, number]][] = [
    [32, 64, 32, [2, 1]], [480, 640, 448, [4, 3]], [448, 448, 448, [1, 1]], [100, 1000, 448, [10, 1]],
    [1000, 900, 448, [2, 2]], [2000, 3000, 448, [3, 2]], [64, 64, 32, [2, 2]],
  ];
  for (const [h, w, s, want] of cases) assert.deepEqual(optimalTiledCanvas(h, w, s, s, 1, 12), want, `${h}x${w}`);
});
