export * from "./adapter";
export { gemma3Adapter } from "./gemma3";
export { internvlAdapter, optimalTiledCanvas } from "./internvl";
export { llavaAdapter } from "./llava";
export { llavaVideoAdapter } from "./llavaVideo";
export { llavaOnevisionAdapter, resizeBicubicAntialias } from "./llavaOnevision";
export { qwen2vlAdapter, smartResize } from "./qwen2vl";
export { adapterFor, registerFamily } from "./registry";
