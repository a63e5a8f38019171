// @linmech/kernel-ext: what a TypeScript notebook imports. Re-exports linmech plus notebook display helpers.
export * from "linmech";
