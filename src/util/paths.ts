// Where linmech's own files live: the repository root (holds data/models, notebooks, .venv) is found from this
// compiled file's location, or from LINMECH_ROOT when the package is used from elsewhere.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export function repoRoot(): string {
  if (process.env.LINMECH_ROOT) return resolve(process.env.LINMECH_ROOT);
  // src/dist/util/paths.js -> repo root is three levels up
  const guess = resolve(__dirname, "..", "..", "..");
  if (existsSync(join(guess, "package.json")) && existsSync(join(guess, "src"))) return guess;
  throw new Error(
    `linmech: cannot find the repository root from ${__dirname}; set LINMECH_ROOT to the folder that holds data/models.`,
  );
}

/** Folder of the bundled model bundles (data/models). */
export function modelsDir(): string {
  return join(repoRoot(), "data", "models");
}
