// linmech: trace and patch the residual stream of vision-language models on ONNX Runtime.
// This file only re-exports; each concept lives in its own module.
export * from "./util/paths";
export * from "./util/safetensors";
export * from "./analysis";
export * from "./data";
export * from "./engine";
export * from "./models";
export * from "./experiments";
