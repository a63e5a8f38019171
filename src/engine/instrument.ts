// Graph instrumentation: adds sparse read and write sites on residual-stream tensors of a decoder ModelProto.
//
// For every instrumented tensor h ([B,T,d], one per `blocks.{i}.hook_resid_post`) the graph gets:
//   write  inputs  patch.{i}.index [K,2] int64 (batch row, position), patch.{i}.value [K,d] float32,
//                  patch.{i}.mode [K,1] bool (true = replace by value, false = add value)
//          nodes   cur = GatherND(h, index); new = Where(mode, value, cur + value); h' = ScatterND(h, index, new)
//          and every former consumer of h (block i+1, or the final norm after the last block) reads h' instead;
//   read   input   trace.{i}.index [K,2] int64 → output trace.{i} [K,d] = GatherND(h', index) (post-edit value).
// Every new input is a required graph input (onnxruntime-node ignores feeds for initializer-backed inputs); the
// session layer feeds empty tensors ([0,2] / [0,d] / [0,1]) for unused sites, and a run with no edits computes
// exactly the plain model (ScatterND with no indices is a copy). `logits.index` [K,2] → output
// `logits.at` [K,vocab] gathers the few logit rows a caller needs, so the full [B,T,vocab] never crosses over.
//
// ORT graph optimisations and the sites (checked with onnxruntime 1.30/1.31 CPU, optimized_model_filepath dumps of
// the tiny-LLaVA decoder, plain vs instrumented): level "basic" only folds constants; "extended"/"all" fuse each
// RMSNorm (Pow/ReduceMean/Add/Sqrt/Div/Mul) into SimplifiedLayerNormalization and fold some MatMul patterns, but
// leave every residual Add (`/model/layers.N/Add_1`) a plain Add in both graphs, so the hooked tensor exists and
// is computed by the same kernel. Because our GatherND/ScatterND read h, a fusion that needs h to have a single
// consumer (e.g. SkipSimplifiedLayerNormalization = residual Add + next norm, which genai-builder exports contain
// and other execution providers may create) could no longer fire in the instrumented graph — it would stay
// correct but differ from the plain graph in rounding. test/engine/exactness.test.ts therefore compares the
// instrumented and plain decoders bit for bit at every optimisation level ("disabled", "basic", "extended",
// "all"); they are identical today. ScatterND with K = 0 indices is a pure copy, so an unedited run is exact.
import { DataType, GraphProto, ModelProto, NodeProto, ValueInfoProto } from "./onnxProto";

export interface InstrumentedSite {
  /** layer index i of blocks.{i}.hook_resid_post */
  layer: number;
  /** ONNX tensor that carries the residual stream after block i */
  tensor: string;
}

export interface InstrumentOptions {
  /** residual tensors to instrument, one per layer */
  sites: InstrumentedSite[];
  hiddenSize: number;
  /** name of the logits output (default "logits") */
  logits?: string;
}

export const siteInputNames = (layer: number) => ({
  patchIndex: `patch.${layer}.index`,
  patchValue: `patch.${layer}.value`,
  patchMode: `patch.${layer}.mode`,
  traceIndex: `trace.${layer}.index`,
  traceOutput: `trace.${layer}`,
});
export const LOGITS_INDEX = "logits.index";
export const LOGITS_AT = "logits.at";

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function node(op: string, name: string, inputs: string[], outputs: string[]): NodeProto {
  return { op_type: op, name, input: inputs, output: outputs, domain: "" };
}

function checkTopLevel(graph: GraphProto, tensor: string, what: string): void {
  const produced = graph.node.some((n) => n.output.includes(tensor));
  if (!produced) {
    const inSub = graph.node.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length)));
    throw new Error(
      `${what}: tensor "${tensor}" is not produced by a top-level node of the decoder graph` +
        (inSub ? " (the layers sit inside an If/Loop subgraph, e.g. an old optimum export with use_cache_branch; " +
          "re-export the decoder without control flow)" : "; check the hook map in linmech.json"),
    );
  }
}

/** Returns a new ModelProto (sharing weights with `model`) with read/write sites and the logits gather. */
export function instrumentDecoder(model: ModelProto, opts: InstrumentOptions): ModelProto {
  const g = model.graph;
  const d = opts.hiddenSize;
  const logits = opts.logits ?? "logits";
  if (!g.output.some((o) => o.name === logits))
    throw new Error(`decoder graph has no output "${logits}"; outputs are ${g.output.map((o) => o.name).join(", ")}`);

  const nodes: NodeProto[] = [...g.node];
  const inputs: ValueInfoProto[] = [...g.input];
  const outputs: ValueInfoProto[] = [...g.output];

  for (const s of opts.sites) {
    checkTopLevel(g, s.tensor, `blocks.${s.layer}.hook_resid_post`);
    const n = siteInputNames(s.layer);
    const h = s.tensor;
    const edited = `${h}/linmech_patched`;
    // Everything that read h now reads h' (renamed before the new nodes are appended, which read h itself).
    for (let k = 0; k < nodes.length; k++) {
      const nd = nodes[k];
      if (nd.input.includes(h))
        nodes[k] = Object.assign(Object.create(Object.getPrototypeOf(nd)) as NodeProto, nd, {
          input: nd.input.map((x) => (x === h ? edited : x)),
        });
    }
    const isOutput = outputs.findIndex((o) => o.name === h);
    if (isOutput >= 0) throw new Error(`residual tensor "${h}" is a graph output; cannot instrument it in place`);
    const p = `/linmech/site.${s.layer}`;
    nodes.push(
      node("GatherND", `${p}/patch_gather`, [h, n.patchIndex], [`${p}/current`]),
      node("Add", `${p}/patch_add`, [`${p}/current`, n.patchValue], [`${p}/added`]),
      node("Where", `${p}/patch_where`, [n.patchMode, n.patchValue, `${p}/added`], [`${p}/new`]),
      node("ScatterND", `${p}/patch_scatter`, [h, n.patchIndex, `${p}/new`], [edited]),
      node("GatherND", `${p}/trace_gather`, [edited, n.traceIndex], [n.traceOutput]),
    );
    inputs.push(
      valueInfo(n.patchIndex, DataType.INT64, [`patch_count_${s.layer}`, 2]),
      valueInfo(n.patchValue, DataType.FLOAT, [`patch_count_${s.layer}`, d]),
      valueInfo(n.patchMode, DataType.BOOL, [`patch_count_${s.layer}`, 1]),
      valueInfo(n.traceIndex, DataType.INT64, [`trace_count_${s.layer}`, 2]),
    );
    outputs.push(valueInfo(n.traceOutput, DataType.FLOAT, [`trace_count_${s.layer}`, d]));
  }
  nodes.push(node("GatherND", "/linmech/logits_gather", [logits, LOGITS_INDEX], [LOGITS_AT]));
  inputs.push(valueInfo(LOGITS_INDEX, DataType.INT64, ["logits_count", 2]));
  outputs.push(valueInfo(LOGITS_AT, DataType.FLOAT, ["logits_count", "vocab"]));

  // ModelProto/GraphProto from protobufjs are class instances; copy the fields we replace into fresh objects.
  const graph: GraphProto = Object.assign(Object.create(Object.getPrototypeOf(g)) as GraphProto, g, {
    node: nodes,
    input: inputs,
    output: outputs,
  });
  return Object.assign(Object.create(Object.getPrototypeOf(model)) as ModelProto, model, { graph });
}
