// Seeded pseudo-random numbers for shuffles and noise vectors: mulberry32 (32-bit state, period 2^32; fine for
// permutation nulls and Gaussian control vectors, not for cryptography) plus Box–Muller Gaussians.

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1) (Box–Muller, the second value of each pair is cached). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** A mulberry32 generator seeded with a 32-bit integer; the same seed always gives the same stream. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  let state = Math.trunc(seed) >>> 0;
  let spare: number | null = null;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u1 = uniform();
    while (u1 === 0) u1 = uniform(); // log(0) guard
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(uniform() * n);
  };
  return { uniform, normal, int };
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`permutation: n must be a non-negative integer, got ${n}`);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** A vector of d independent N(0, 1) draws. */
export function gaussianVector(d: number, rng: Rng): Float64Array {
  if (!Number.isInteger(d) || d <= 0) throw new Error(`gaussianVector: d must be a positive integer, got ${d}`);
  const v = new Float64Array(d);
  for (let i = 0; i < d; i++) v[i] = rng.normal();
  return v;
}

/**
 * An isotropic random direction scaled to the given Euclidean norm: the "random noise of the same norm" control of
 * Fig 2 (authors: `randn(d)` rescaled; unseeded there, seeded here).
 */
export function randomVectorWithNorm(d: number, targetNorm: number, rng: Rng): Float64Array {
  if (!Number.isFinite(targetNorm) || targetNorm < 0) throw new Error(`randomVectorWithNorm: norm must be finite and ≥ 0, got ${targetNorm}`);
  const v = gaussianVector(d, rng);
  let s = 0;
  for (let i = 0; i < d; i++) s += v[i] * v[i];
  const scale = targetNorm / Math.sqrt(s);
  for (let i = 0; i < d; i++) v[i] *= scale;
  return v;
}
