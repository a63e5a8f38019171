// Reading and writing ONNX ModelProto with protobufjs against the onnx.proto kept beside this file (Apache-2.0,
// from the ONNX project). Only the fields the instrumenter touches are typed; every other field survives a
// decode/encode round trip untouched because the schema is the current one.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as protobuf from "protobufjs";

/** int64 fields decode to Long objects (protobufjs) and encode from numbers. */
export type Int64 = number | { toNumber(): number };

export interface TensorProto {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  raw_data?: Uint8Array;
  int64_data?: Int64[];
  float_data?: number[];
  data_location?: number;
  external_data?: { key?: string; value?: string }[];
}
export interface AttributeProto {
  name?: string;
  type?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  graphs?: GraphProto[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}
export interface TensorShapeDim {
  dim_value?: Int64;
  dim_param?: string;
}
export interface ValueInfoProto {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDim[] } } };
}
export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  graph: GraphProto;
}

/** ONNX TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;
/** AttributeProto.AttributeType codes used here. */
export const AttributeType = { INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, GRAPHS: 10 } as const;

let modelType: protobuf.Type | undefined;

function protoPath(): string {
  // compiled: src/dist/engine/onnxProto.js; the schema stays in src/engine/ (also looked up beside the build).
  const candidates = [join(__dirname, "onnx.proto"), join(__dirname, "..", "..", "engine", "onnx.proto")];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`linmech: onnx.proto not found (looked in ${candidates.join(", ")})`);
  return found;
}

function type(): protobuf.Type {
  if (!modelType) {
    const root = new protobuf.Root();
    root.loadSync(protoPath(), { keepCase: true });
    modelType = root.lookupType("onnx.ModelProto");
  }
  return modelType;
}

export function toNumber(x: Int64 | undefined): number {
  if (x === undefined) return 0;
  return typeof x === "number" ? x : x.toNumber();
}

/** Decodes an ONNX file's bytes; throws a message naming `what` when the bytes are not a ModelProto. */
export function decodeModel(bytes: Uint8Array, what: string): ModelProto {
  let m: ModelProto;
  try {
    m = type().decode(bytes) as unknown as ModelProto;
  } catch (e) {
    throw new Error(`${what} is not a valid ONNX model (${(e as Error).message}); re-export the bundle`);
  }
  if (!m.graph || !Array.isArray(m.graph.node) || m.graph.node.length === 0)
    throw new Error(`${what} is not a valid ONNX model (no graph nodes); re-export the bundle`);
  m.graph.initializer ??= [];
  m.graph.input ??= [];
  m.graph.output ??= [];
  return m;
}

export function encodeModel(model: ModelProto): Uint8Array {
  const t = type();
  return t.encode(t.fromObject(model as unknown as Record<string, unknown>)).finish();
}
