import { test } from "node:test";
import assert from "node:assert/strict";
import { repoRoot } from "linmech";

test("foundation: linmech resolves the repository root", () => {
  assert.ok(repoRoot().length > 0);
});
