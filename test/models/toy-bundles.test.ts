// The shipped toy bundles (data/models/toy-*): each loads in onnxruntime-node through the engine, answers a sample
// held-out question correctly, and on a reduced held-out sample reproduces its model card's accuracies (eval.json,
// written by `node src/dist/cli/evalToy.js --json`) well above chance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_OBJECTS, generateScene, getTask, loadModel, modelsDir } from "linmech";
import { answerWord, evalToyModel, toyBundles, type ToyEvalRow } from "linmech/dist/cli/evalToy";

const N = Number(process.env.TOY_EVAL_N ?? 40);
const bundles = toyBundles();

test("toy bundles: the main model toy-llava is shipped", () => {
  assert.ok(bundles.includes("toy-llava"), `data/models/toy-llava is missing (found: ${bundles.join(", ") || "none"})`);
});

for (const name of bundles) {
  test(`toy bundle ${name}: sample answer and reduced held-out eval match its model card`, async () => {
    const cardPath = join(modelsDir(), name, "eval.json");
    assert.ok(existsSync(cardPath), `${cardPath} is missing: write it with evalToy --json`);
    const card: ToyEvalRow[] = JSON.parse(readFileSync(cardPath, "utf8"));
    const model = await loadModel(name);
    try {
      // one sample question from the task the model is best at: scene 0 of the held-out stream
      const best = [...card].sort((a, b) => b.accuracy - a.accuracy)[0];
      const scene = await generateScene(best.task, { seed: 7, index: 0, size: model.meta.image_size, split: "heldout" });
      const video = model.meta.family.includes("video");
      const input = await model.prepare(
        video ? { frames: scene.frames, prompt: scene.meta.question } : { image: scene.frames[0], prompt: scene.meta.question },
      );
      const r = await model.patch(input, [], { generate: 3 });
      const said = answerWord(r.generated!.tokens);
      const allowed = getTask(best.task).answers;
      assert.ok((allowed === "objects" ? ALL_OBJECTS : allowed).includes(said), `${name}: "${scene.meta.question}" -> "${said}" is no answer of ${best.task}`);
      // correct when the model has learned that task (weak zoo members only have to answer in the task's vocabulary)
      if (best.accuracy >= 0.8) assert.equal(said, scene.meta.answer, `${name}: "${scene.meta.question}"`);

      // reduced sample of every task on the card
      const rows = await evalToyModel(model, { tasks: card.map((c) => c.task), n: N });
      for (const row of rows) {
        const c = card.find((x) => x.task === row.task)!;
        const sd = Math.sqrt((c.accuracy * (1 - c.accuracy)) / N);
        // within 4 standard errors (+2 points) of the card's number
        assert.ok(
          Math.abs(row.accuracy - c.accuracy) <= 4 * sd + 0.02 + 1 / N,
          `${name} ${row.task}: ${row.accuracy.toFixed(3)} on ${N} scenes vs ${c.accuracy.toFixed(3)} on the card`,
        );
        // tasks the model has learned (card at least 30 points above chance) stay well above chance
        if (c.accuracy >= c.chance + 0.3)
          assert.ok(row.accuracy >= c.chance + 0.15, `${name} ${row.task}: ${row.accuracy.toFixed(3)} is near chance ${c.chance.toFixed(3)}`);
      }
    } finally {
      await model.dispose();
    }
  });
}

// The accuracy targets for the main model. A task whose model-card number is below its target is reported as
// a TODO (not a failure), so the gap stays visible in every test run (see tools/README.md); a task at or above its
// target must stay there on a fresh reduced sample (within sampling error).
const TARGETS: Record<string, number> = {
  "grid-lr": 0.97, "grid-ab": 0.97, "clutter-lr": 0.85, "clutter-ab": 0.85, nearfar: 0.85, inbetween: 0.8, frontbehind: 0.8,
};
const mainCard = join(modelsDir(), "toy-llava", "eval.json");
const mainRows: ToyEvalRow[] = existsSync(mainCard) ? JSON.parse(readFileSync(mainCard, "utf8")) : [];
for (const [task, target] of Object.entries(TARGETS)) {
  const card = mainRows.find((r) => r.task === task);
  test(
    `toy-llava reaches the target on ${task} (>= ${target} held out)`,
    { todo: card === undefined ? `no ${task} row in ${mainCard}` : card.accuracy < target ? `shipped toy-llava is at ${card.accuracy.toFixed(3)} on ${task} (issue 9)` : undefined },
    async () => {
      const model = await loadModel("toy-llava");
      try {
        const n = 2 * N;
        const [row] = await evalToyModel(model, { tasks: [task], n });
        const slack = 3 * Math.sqrt((target * (1 - target)) / n);
        assert.ok(row.accuracy >= target - slack, `toy-llava ${task}: ${row.accuracy.toFixed(3)} on ${n} held-out scenes (target ${target})`);
      } finally {
        await model.dispose();
      }
    },
  );
}
