// Re-exports the analysis math: one concept per module.
// Input/output types; the conversion helpers in ./arrays stay internal.
export type { Vector, RowMajor, MatrixInput, DenseMatrix } from "./arrays";
export { rowOf } from "./arrays";
export * from "./rng";
export * from "./stats";
export * from "./normal";
export * from "./mannWhitney";
export * from "./projection";
export * from "./pca";
export * from "./spatialIds";
export * from "./interpolation";
export * from "./regression";
export * from "./beliefShift";
export * from "./flips";
export * from "./steerability";
export * from "./margins";
