export * from "./adapter";
export { llavaAdapter } from "./llava";
export { llavaVideoAdapter } from "./llavaVideo";
export { adapterFor, registerFamily } from "./registry";
