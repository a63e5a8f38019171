// Seed derivation: every scene gets its own generator, seeded by hashing (base seed, stream name, index), so a
// shard is reproducible scene by scene and different streams (task, split) never share random numbers.
import { createRng, type Rng } from "../analysis/rng";

/** A 32-bit hash of the parts (FNV-1a over their text, then a murmur3 finaliser for avalanche). */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.map((p) => (typeof p === "number" ? `#${p}` : p)).join("\u0001");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator for one named stream of a base seed. */
export function streamRng(seed: number, ...parts: (string | number)[]): Rng {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  return createRng(hashSeed(seed, ...parts));
}

/** Uniform in [lo, hi). */
export function uniformIn(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}

/** One element chosen uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick: cannot choose from an empty list");
  return items[rng.int(items.length)];
}

/** k distinct elements chosen uniformly (order random). */
export function pickDistinct<T>(rng: Rng, items: readonly T[], k: number): T[] {
  if (k > items.length) throw new Error(`pickDistinct: asked for ${k} distinct items from ${items.length}`);
  const pool = items.slice();
  const out: T[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
    out.push(pool[i]);
  }
  return out;
}
