// Reads and writes the safetensors format (8-byte little-endian header length, JSON header, raw little-endian
// tensor bytes) for float32 tensors, so that artefacts such as universal spatial IDs load in Python with
// `safetensors.numpy.load_file` and back here. No npm package for the format is available, and it is this small.
import { readFileSync, writeFileSync } from "node:fs";

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type TensorFile = {
  tensors: Record<string, NamedTensor>;
  /** Free-form string metadata (the format's `__metadata__`). */
  metadata: Record<string, string>;
};

export function encodeSafetensors(file: TensorFile): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(file.metadata).length > 0) header.__metadata__ = file.metadata;
  let offset = 0;
  const names = Object.keys(file.tensors).sort();
  for (const name of names) {
    const t = file.tensors[name];
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) {
      throw new Error(`safetensors: tensor "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${expected}`);
    }
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned, as the reference writer does
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const t = file.tensors[name];
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, source = "buffer"): TensorFile {
  if (buf.length < 8) throw new Error(`safetensors: ${source} is too short to be a safetensors file`);
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw new Error(`safetensors: ${source} has a header length ${n} beyond the file size ${buf.length}`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch (e) {
    throw new Error(`safetensors: ${source} has an unreadable JSON header (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors: Record<string, NamedTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== "F32") throw new Error(`safetensors: tensor "${name}" in ${source} is ${e.dtype}; only F32 is supported`);
    const [a, b] = e.data_offsets;
    const bytes = buf.subarray(base + a, base + b);
    const data = new Float32Array(bytes.byteLength / 4);
    Buffer.from(data.buffer).set(bytes); // copy: the source buffer may not be 4-byte aligned
    tensors[name] = { shape: e.shape, data };
  }
  return { tensors, metadata };
}

export function writeSafetensors(path: string, file: TensorFile): void {
  writeFileSync(path, encodeSafetensors(file));
}

export function readSafetensors(path: string): TensorFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`safetensors: cannot read ${path} (${(e as Error).message})`);
  }
  return decodeSafetensors(buf, path);
}
