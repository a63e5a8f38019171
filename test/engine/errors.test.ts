// Bad input gets one clear error (naming what was wrong and how to fix it), and the model stays usable afterwards:
// after every error the same model object reproduces the clean reference run bit for bit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { add, loadModel, Model, PreparedInput, replace, resid } from "linmech";
import { BUNDLE, bitEqual, ensureFixture, FIXTURE, Reference } from "./fixture";

let ref: Reference;
let model: Model;
let x: PreparedInput;
let cleanLogits: Float32Array;
const tmp = mkdtempSync(join(tmpdir(), "linmech-errors-"));

before(async () => {
  ref = ensureFixture();
  model = await loadModel(BUNDLE, { threads: 1 });
  x = await model.prepare({ image: join(FIXTURE, ref.inputs[0].image), prompt: ref.inputs[0].question });
  cleanLogits = (await model.patch(x, [], { prefixReuse: false })).lastLogits;
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** the model still gives the clean answer, and an edited run still works */
async function stillUsable(): Promise<void> {
  const again = await model.patch(x, [], { prefixReuse: false });
  assert.ok(bitEqual(again.lastLogits, cleanLogits), "clean run changed after an error");
  const fresh = await model.prepare({ image: join(FIXTURE, ref.inputs[0].image), prompt: ref.inputs[0].question });
  const edited = await model.patch(fresh, [add(resid(1), fresh.positionOf("frog"), new Array(model.width).fill(0.1))]);
  assert.ok(Number.isFinite(edited.lastLogits[0]));
}

async function rejects(what: string, f: () => Promise<unknown> | unknown, pattern: RegExp): Promise<void> {
  let err: Error | undefined;
  try {
    await f();
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err, `${what}: no error was thrown`);
  assert.match(err.message, pattern, `${what}: unexpected message: ${err.message}`);
  // one message, one line of explanation (no stack dump or nested ORT log in the message)
  assert.ok(!err.message.includes("\n    at "), `${what}: message contains a stack trace`);
  await stillUsable();
}

/** A copy of the fixture bundle, changed by `mutate`. */
function bundleCopy(name: string, mutate: (dir: string) => void): string {
  const dir = join(tmp, name);
  cpSync(BUNDLE, dir, { recursive: true });
  mutate(dir);
  return dir;
}

test("missing bundle folder / files name the path and the fix", async () => {
  await rejects("no folder", () => loadModel(join(tmp, "nope")), /model bundle folder not found: .*nope/);
  await rejects("no such name", () => loadModel("no-such-model"), /model "no-such-model" not found.*data\/models/);
  for (const file of ["linmech.json", "tokenizer.json", "preprocessor_config.json", "onnx/decoder_model_merged.onnx", "onnx/vision_encoder.onnx"]) {
    const dir = bundleCopy(`missing-${file.replace("/", "_")}`, (d) => unlinkSync(join(d, file)));
    await rejects(`missing ${file}`, () => loadModel(dir), new RegExp(`missing ${file.replace(".", "\\.")}; re-export`));
  }
});

test("corrupt bundle files are named, with the fix", async () => {
  const badJson = bundleCopy("bad-json", (d) => writeFileSync(join(d, "linmech.json"), "{ not json"));
  await rejects("corrupt linmech.json", () => loadModel(badJson), /linmech\.json is not valid JSON .*re-export/);
  const noHook = bundleCopy("no-hook", (d) => {
    const m = JSON.parse(readFileSync(join(d, "linmech.json"), "utf8"));
    delete m.hook_map["blocks.1.hook_resid_post"];
    writeFileSync(join(d, "linmech.json"), JSON.stringify(m));
  });
  await rejects("hook map gap", () => loadModel(noHook), /hook_map has no entry for blocks\.1\.hook_resid_post/);
  const wrongHook = bundleCopy("wrong-hook", (d) => {
    const m = JSON.parse(readFileSync(join(d, "linmech.json"), "utf8"));
    m.hook_map["blocks.1.hook_resid_post"] = "/model/layers.1/NoSuchTensor";
    writeFileSync(join(d, "linmech.json"), JSON.stringify(m));
  });
  await rejects("hook map names a missing tensor", () => loadModel(wrongHook), /NoSuchTensor.*not produced by a top-level node.*hook map/);
  const truncated = bundleCopy("truncated-decoder", (d) => {
    const p = join(d, "onnx", "decoder_model_merged.onnx");
    const b = readFileSync(p);
    writeFileSync(p, b.subarray(0, Math.floor(b.length / 3)));
  });
  await rejects("truncated decoder", () => loadModel(truncated), /decoder_model_merged\.onnx is not a valid ONNX model .*re-export/);
  const garbage = bundleCopy("garbage-vision", (d) => writeFileSync(join(d, "onnx", "vision_encoder.onnx"), "garbage bytes"));
  await rejects("garbage vision encoder", () => loadModel(garbage), /vision_encoder\.onnx could not be loaded by ONNX Runtime.*re-export/);
  const badTok = bundleCopy("bad-tokenizer", (d) => writeFileSync(join(d, "tokenizer.json"), JSON.stringify({ model: { type: "Nope" } })));
  await rejects("bad tokenizer", async () => {
    const m = await loadModel(badTok);
    await m.prepare({ prompt: "hello", image: join(FIXTURE, ref.inputs[0].image) });
  }, /tokenizer\.json could not be loaded.*re-export/);
});

test("word not in the prompt lists the prompt's tokens", async () => {
  await rejects("missing word", () => x.positionOf("giraffe"), /word "giraffe" .*not found in the prompt tokens \[.*"frog".*"camel".*\]/);
  await rejects("missing occurrence", () => x.positionOf("frog", { occurrence: 1 }), /occurs 1 time\(s\).*occurrence 1 does not exist/);
});

test("layer out of range and unknown sites name the valid range", async () => {
  const v = new Array(model.width).fill(0);
  await rejects("patch layer", () => model.patch(x, [add(resid(model.numLayers), 5, v)]), /layer 3 out of range .*blocks\.0 … blocks\.2/);
  await rejects("trace layer", () => model.trace(x, "blocks.7.hook_resid_post"), /layer 7 out of range/);
  await rejects("unknown site", () => model.trace(x, "blocks.1.hook_mlp_out" as never), /unknown site "blocks\.1\.hook_mlp_out".*hook_embed/);
  await rejects("position", () => model.patch(x, [add(resid(0), x.length, v)]), new RegExp(`position ${x.length} is outside the input \\(0\\.\\.${x.length - 1}\\)`));
});

test("vector of the wrong width", async () => {
  await rejects("add width", () => model.patch(x, [add(resid(1), 20, new Array(model.width - 1).fill(1))]), new RegExp(`vector of width ${model.width - 1}, the model's residual stream has width ${model.width}`));
  await rejects("replace width", () => model.patch(x, [replace(resid(1), [20], [new Array(model.width + 3).fill(1)])]), /vector of width 67/);
  await rejects("replace count", () => replace(resid(1), [20, 21], [new Array(model.width).fill(1)]), /1 value vectors for 2 positions/);
});

test("NaN / Infinity in an edit", async () => {
  const v = new Array(model.width).fill(0);
  v[7] = NaN;
  await rejects("NaN add", () => model.patch(x, [add(resid(1), 20, v)]), /non-finite value \(NaN\) at index 7/);
  const w = new Array(model.width).fill(0);
  w[0] = Infinity;
  await rejects("Infinity replace", () => model.patch(x, [replace(resid(2), 20, w)]), /non-finite value \(Infinity\) at index 0/);
  // a bad edit set anywhere in a sweep fails the whole call before anything runs
  await rejects("NaN in a sweep", () => model.patchMany(x, [[], [add(resid(0), 20, v)]]), /non-finite value \(NaN\)/);
});

test("an image sharp cannot read", async () => {
  const notImage = join(tmp, "not-an-image.png");
  writeFileSync(notImage, "this is text, not a PNG");
  await rejects("unreadable file", () => model.prepare({ image: notImage, prompt: "Is the frog left?" }), /not-an-image\.png could not be read as an image \(sharp: /);
  await rejects("missing file", () => model.prepare({ image: join(tmp, "nope.png"), prompt: "Is the frog left?" }), /image file not found: .*nope\.png/);
  await rejects("bad buffer", () => model.prepare({ image: new Uint8Array([1, 2, 3, 4]), prompt: "Is the frog left?" }), /image buffer \(4 bytes\) could not be read/);
  await rejects("raw size", () => model.prepare({ image: { data: new Uint8Array(10), width: 4, height: 4 }, prompt: "x" }), /raw image: 10 bytes do not match 4x4x3/);
});

test("too many frames (video bundle) and frames given to an image model", async () => {
  await rejects("frames to llava", () => model.prepare({ frames: [join(FIXTURE, ref.inputs[0].image)], prompt: "Is the frog left?" }), /takes images, not frames; use a llava-video bundle/);
  // the same weights seen as a two-frame video model (frames go through the vision encoder one by one)
  const videoDir = bundleCopy("video", (d) => {
    const m = JSON.parse(readFileSync(join(d, "linmech.json"), "utf8"));
    const tok = JSON.parse(readFileSync(join(d, "tokenizer.json"), "utf8"));
    const videoId = (tok.added_tokens as { id: number; content: string }[]).find((t) => t.content === "<video>")!.id;
    Object.assign(m, { family: "llava-video", video_token: "<video>", video_token_id: videoId, max_frames: 2, tokens_per_frame: m.tokens_per_image });
    writeFileSync(join(d, "linmech.json"), JSON.stringify(m));
  });
  const video = await loadModel(videoDir, { threads: 1 });
  const img = join(FIXTURE, ref.inputs[0].image), img2 = join(FIXTURE, ref.inputs[1].image);
  const clip = await video.prepare({ frames: [img, img2], prompt: ref.inputs[0].question });
  assert.equal(clip.imageTokens().length, 2 * ref.inputs[0].image_token_positions.length);
  assert.deepEqual(clip.spans.map((s) => s.item), [0, 1]);
  const before = (await video.patch(clip, [])).lastLogits;
  await rejects("too many frames", () => video.prepare({ frames: [img, img2, img], prompt: ref.inputs[0].question }), /too many frames: 3 given, video takes at most 2 \(max_frames in linmech\.json\)/);
  await rejects("image to a video model", () => video.prepare({ image: img, prompt: "x" }), /takes frames, not an image/);
  assert.ok(bitEqual((await video.patch(clip, [])).lastLogits, before), "video model changed after an error");
  await video.dispose();
});

test("answers outside the vocabulary and bad generate counts", async () => {
  await rejects("unknown answer", () => model.patch(x, [], { logprobs: ["zebra"] }), /answer "zebra" is not in the vocabulary/);
  await rejects("answer id", () => model.patch(x, [], { logprobs: [100000] }), /answer token id 100000 is outside the vocabulary/);
  await rejects("generate", () => model.patch(x, [], { generate: 1.5 }), /generate must be a whole number/);
});
