// The paper's experiments, one file each (see the header comment of each for its deviations from the authors' code).
// Each helper appends only its own export lines here.
export {};
export * from "./mirrorSwap";
export * from "./spatialIds";
export * from "./universalIds";
export * from "./psiRegression";
export * from "./steering";
export * from "./adversarialSteering";
export * from "./steerability";
export * from "./arbitrarySteering";
export * from "./depthVsHeight";
export * from "./temporalIds";
export * from "./temporalMirrorSwap";
export * from "./temporalSteering";
export * from "./failureDiagnosis";
