// 2-D projections of vectors for the spatial-ID map (DOM-free, so notebooks can build specs from raw vectors):
// onto two given axes with Gram–Schmidt (reference-code-spec §1.3 `project_onto_plane`), or onto the top two
// principal components. Both report the explained share (var(c1) + var(c2)) / Σ_d var(E[:, d]).

export interface Projection {
  /** One (x, y) per input vector, in input order. */
  coords: [number, number][];
  /** Share of the total variance of the vectors captured by the two coordinates (0..1). */
  explained: number;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function variance(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length;
}

function checkVectors(vectors: ArrayLike<number>[], what: string, min: number): number {
  if (vectors.length < min) throw new Error(`${what}: need at least ${min} vector(s), got ${vectors.length}`);
  const d = vectors[0].length;
  vectors.forEach((v, i) => {
    if (v.length !== d) throw new Error(`${what}: vector ${i} has length ${v.length}, vector 0 has ${d}`);
  });
  return d;
}

function totalVariance(vectors: ArrayLike<number>[], d: number): number {
  const n = vectors.length;
  let total = 0;
  for (let j = 0; j < d; j++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      s += vectors[i][j];
      s2 += vectors[i][j] * vectors[i][j];
    }
    total += s2 / n - (s / n) * (s / n);
  }
  return total;
}

/**
 * Projects vectors onto the plane spanned by `xAxis` and `yAxis`: u = x/|x|, v = (y − (y·u)u)/|…|,
 * coordinates (E·u, E·v). Throws if the axes are (nearly) parallel or have the wrong length.
 */
export function projectOntoPlane(vectors: ArrayLike<number>[], xAxis: ArrayLike<number>, yAxis: ArrayLike<number>): Projection {
  const d = checkVectors(vectors, "projectOntoPlane", 1);
  if (xAxis.length !== d || yAxis.length !== d) {
    throw new Error(`projectOntoPlane: axes have lengths ${xAxis.length} and ${yAxis.length}, vectors have ${d}`);
  }
  const nx = Math.sqrt(dot(xAxis, xAxis));
  if (nx === 0) throw new Error("projectOntoPlane: the x axis is the zero vector");
  const u = Array.from(xAxis, (x) => x / nx);
  const yu = dot(yAxis, u);
  const vRaw = Array.from(yAxis, (y, i) => y - yu * u[i]);
  const nv = Math.sqrt(dot(vRaw, vRaw));
  if (nv < 1e-9 * Math.sqrt(dot(yAxis, yAxis))) throw new Error("projectOntoPlane: the y axis is parallel to the x axis");
  const v = vRaw.map((x) => x / nv);
  const coords = vectors.map((e) => [dot(e, u), dot(e, v)] as [number, number]);
  const total = totalVariance(vectors, d);
  const explained = total > 0 ? (variance(coords.map((c) => c[0])) + variance(coords.map((c) => c[1]))) / total : 0;
  return { coords, explained };
}

/** Eigen-decomposition of a small symmetric matrix (cyclic Jacobi); eigenvalues sorted descending. */
export function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((r) => r.slice());
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p][q] * m[p][q];
    if (off < 1e-24) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p][q]) < 1e-300) continue;
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p], mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k], mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j][j] - m[i][i]);
  return { values: order.map((i) => m[i][i]), vectors: order.map((i) => v.map((row) => row[i])) };
}

/**
 * Projects vectors onto their top two principal components (computed from the n×n Gram matrix of the centred
 * vectors, so it is cheap for few vectors of large dimension). Each component's sign is fixed so that the
 * vector with the largest |coordinate| gets a positive one; pass `orient` to fix signs differently
 * (e.g. "first vector has the smaller x").
 */
export function projectPca(vectors: ArrayLike<number>[], orient?: (coords: [number, number][]) => [boolean, boolean]): Projection {
  const d = checkVectors(vectors, "projectPca", 2);
  const n = vectors.length;
  if (n > 2000) throw new Error(`projectPca: ${n} vectors is too many for the Gram-matrix method (max 2000)`);
  const mean = new Float64Array(d);
  for (const e of vectors) for (let j = 0; j < d; j++) mean[j] += e[j] / n;
  const centred = vectors.map((e) => Float64Array.from({ length: d }, (_, j) => e[j] - mean[j]));
  const gram = centred.map((a) => centred.map((b) => dot(a, b)));
  const { values, vectors: eig } = symmetricEigen(gram);
  const coords: [number, number][] = centred.map(() => [0, 0]);
  for (let k = 0; k < 2; k++) {
    const scale = Math.sqrt(Math.max(values[k] ?? 0, 0));
    const col = eig[k] ?? new Array<number>(n).fill(0);
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(col[i]) > Math.abs(col[big])) big = i;
    const sign = col[big] < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) coords[i][k] = sign * col[i] * scale;
  }
  if (orient) {
    const [flipX, flipY] = orient(coords);
    for (const c of coords) {
      if (flipX) c[0] = -c[0];
      if (flipY) c[1] = -c[1];
    }
  }
  const total = totalVariance(vectors, d);
  const explained = total > 0 ? (variance(coords.map((c) => c[0])) + variance(coords.map((c) => c[1]))) / total : 0;
  return { coords, explained };
}
