// Scene engine: object pictures, scene generators with ground truth, counterfactual operations, shards.
export * from "./image";
export * from "./objects";
export * from "./seeds";
export * from "./sprites";
export * from "./compose";
export * from "./grid";
export * from "./questions";
export * from "./pools";
export * from "./task";
export * from "./gridTasks";
export * from "./tasks";
export * from "./shards";
