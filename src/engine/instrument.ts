// Graph instrumentation: adds sparse read and write sites on residual-stream tensors of a decoder ModelProto.
//
// The edits and reads of ALL layers travel in six packed inputs, rows grouped by site (sites in the order given,
// layers 0..L-1 in the engine):
//   patch.replace_index [R,2] int64 (batch row, position), patch.replace_value [R,d] float32,
//   patch.add_index [A,2] int64, patch.add_value [A,d] float32, trace.index [M,2] int64,
//   site.counts [3·S] int64: how many rows each site has in the three row lists (replace, add, trace).
// For every instrumented tensor h ([B,T,d], one per `blocks.{i}.hook_resid_post`, site k):
//   write  one Split per list (by the counts) hands site k its rows;
//          h1 = ScatterND(h, replace rows); h' = ScatterND(h1, add rows, reduction="add") (opset >= 16; older
//          graphs: GatherND + Add + ScatterND, the same float arithmetic), and every former consumer of h
//          (block i+1, or the final norm after the last block) reads h' instead;
//   read   output trace.{i} [K,d] = GatherND(h', trace rows k) (post-edit value).
// Why packed: every graph input costs ~5 µs per session call in onnxruntime-node (tensor marshalling and
// binding), while a small node costs < 1 µs; five inputs per layer made an unedited call of the 8-layer toy
// model ~6% slower than the plain graph; the packed layout costs 7 inputs and 8 small nodes in all plus 3 per
// layer (two ScatterND, one GatherND), whatever the depth.
// A position is either replaced or added to (edits are merged per position first: replace then add = replace by
// the sum), so the two scatters never touch the same row. Unused sites get zero-length slices; ScatterND with no
// indices is a copy, so a run with no edits computes exactly the plain model. `logits.index` [K,2] → output
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
import { AttributeProto, AttributeType, DataType, GraphProto, ModelProto, NodeProto, ValueInfoProto } from "./onnxProto";

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

/** the packed inputs shared by all sites (see the header) */
export const SITE_INPUTS = {
  replaceIndex: "patch.replace_index",
  replaceValue: "patch.replace_value",
  addIndex: "patch.add_index",
  addValue: "patch.add_value",
  traceIndex: "trace.index",
  counts: "site.counts",
} as const;
/** output with the traced vectors of one layer */
export const traceOutputName = (layer: number) => `trace.${layer}`;
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

function node(op: string, name: string, inputs: string[], outputs: string[], attribute?: AttributeProto[]): NodeProto {
  return { op_type: op, name, input: inputs, output: outputs, domain: "", ...(attribute ? { attribute } : {}) };
}

/** opset of the default ONNX domain */
function defaultOpset(model: ModelProto): number {
  const e = (model.opset_import ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  const v = e?.version;
  return v === undefined ? 0 : typeof v === "number" ? v : v.toNumber();
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
  const scatterAdd = defaultOpset(model) >= 16; // ScatterND's reduction attribute

  const S = opts.sites.length;
  opts.sites.forEach((s, k) => {
    if (s.layer !== k) throw new Error(`instrumentDecoder: sites must be layers 0..${S - 1} in order (site ${k} is layer ${s.layer})`);
  });
  const I = SITE_INPUTS;
  const konst = (name: string, value: number) =>
    node("Constant", name, [], [name], [{ name: "value", type: AttributeType.TENSOR, t: { dims: [1], data_type: DataType.INT64, int64_data: [value] } }]);
  // per kind (0 replace, 1 add, 2 trace): counts[kind·S .. (kind+1)·S) = rows of each site; one Split per list
  // hands every site its rows (zero-length when unused)
  if (S > 0) nodes.push(konst("/linmech/const/axis0", 0));
  const split = (list: string, kind: number): string[] => {
    const counts = `/linmech/counts/${kind}`;
    if (!nodes.some((n) => n.name === counts))
      nodes.push(
        konst(`${counts}/start`, kind * S), konst(`${counts}/end`, (kind + 1) * S),
        node("Slice", counts, [I.counts, `${counts}/start`, `${counts}/end`, "/linmech/const/axis0"], [counts]),
      );
    const outs = opts.sites.map((s) => `/linmech/site.${s.layer}/${list}`);
    nodes.push(node("Split", `/linmech/split/${list}`, [list, counts], outs, [{ name: "axis", type: AttributeType.INT, i: 0 }]));
    return outs;
  };
  const none = (): string[] => [];
  const [rIdx, rVal, aIdx, aVal, tIdx] = S === 0 ? [none(), none(), none(), none(), none()]
    : [split(I.replaceIndex, 0), split(I.replaceValue, 0), split(I.addIndex, 1), split(I.addValue, 1), split(I.traceIndex, 2)];

  opts.sites.forEach((s, k) => {
    checkTopLevel(g, s.tensor, `blocks.${s.layer}.hook_resid_post`);
    const h = s.tensor;
    const edited = `${h}/linmech_patched`;
    // Everything that read h now reads h' (renamed before the new nodes are appended, which read h itself).
    for (let q = 0; q < nodes.length; q++) {
      const nd = nodes[q];
      if (nd.input.includes(h))
        nodes[q] = Object.assign(Object.create(Object.getPrototypeOf(nd)) as NodeProto, nd, {
          input: nd.input.map((x) => (x === h ? edited : x)),
        });
    }
    if (outputs.some((o) => o.name === h)) throw new Error(`residual tensor "${h}" is a graph output; cannot instrument it in place`);
    const p = `/linmech/site.${s.layer}`;
    nodes.push(node("ScatterND", `${p}/replace`, [h, rIdx[k], rVal[k]], [`${p}/replaced`]));
    if (scatterAdd)
      nodes.push(node("ScatterND", `${p}/add`, [`${p}/replaced`, aIdx[k], aVal[k]], [edited],
        [{ name: "reduction", type: AttributeType.STRING, s: new TextEncoder().encode("add") }]));
    else
      nodes.push(
        node("GatherND", `${p}/add_gather`, [`${p}/replaced`, aIdx[k]], [`${p}/add_current`]),
        node("Add", `${p}/add_sum`, [`${p}/add_current`, aVal[k]], [`${p}/add_new`]),
        node("ScatterND", `${p}/add`, [`${p}/replaced`, aIdx[k], `${p}/add_new`], [edited]),
      );
    nodes.push(node("GatherND", `${p}/trace_gather`, [edited, tIdx[k]], [traceOutputName(s.layer)]));
    outputs.push(valueInfo(traceOutputName(s.layer), DataType.FLOAT, [`trace_count_${s.layer}`, d]));
  });
  if (S > 0) inputs.push(
    valueInfo(I.replaceIndex, DataType.INT64, ["replace_count", 2]),
    valueInfo(I.replaceValue, DataType.FLOAT, ["replace_count", d]),
    valueInfo(I.addIndex, DataType.INT64, ["add_count", 2]),
    valueInfo(I.addValue, DataType.FLOAT, ["add_count", d]),
    valueInfo(I.traceIndex, DataType.INT64, ["trace_count", 2]),
    valueInfo(I.counts, DataType.INT64, [3 * S]),
  );
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
