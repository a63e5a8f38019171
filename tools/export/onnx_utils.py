"""ONNX helpers shared by every family: torch -> ONNX export, saving (external data > 2 GB), ORT sessions,
exposing intermediate tensors as extra outputs."""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

OPSET = 17
TWO_GB = 2 * 1024**3


class ExportError(RuntimeError):
    """A user-facing export failure (bad input folder, unsupported model, failed self-check)."""


EXTERNAL_DATA = "auto"  # auto (only when > 2 GB) | always | never; set by export.py --external-data


def export_module(module: torch.nn.Module, args: tuple, out_path: Path, input_names: list[str],
                  output_names: list[str], dynamic_axes: dict) -> onnx.ModelProto:
    """Export with the TorchScript exporter (dynamo=False) into a temporary folder, then write `out_path`: weights
    inline, or (over 2 GB, or EXTERNAL_DATA == "always") in ONE file `<name>.onnx_data` next to it, streamed
    tensor by tensor (memory stays at about one copy of the weights: the torch module's). Returns the graph
    without weights. The TorchScript exporter keeps module paths in node names (`/model/layers.3/Add_1`), which
    the hook map is found from."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        tmp_file = Path(tmp) / out_path.name
        with warnings.catch_warnings():
            # The legacy-exporter deprecation notice and trace warnings about Python scalars: the graphs are
            # verified numerically for other shapes (batch, past length 0 and > 0) by the self-check instead.
            warnings.simplefilter("ignore")
            with torch.no_grad():
                torch.onnx.export(module, args, str(tmp_file), input_names=input_names, output_names=output_names,
                                  dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True,
                                  dynamo=False)
        model = onnx.load(str(tmp_file), load_external_data=False)
        return write_model(model, Path(tmp), out_path)


def _tensor_bytes(t: onnx.TensorProto, base_dir: Path) -> bytes:
    if t.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in t.external_data}
        with open(base_dir / info["location"], "rb") as f:
            f.seek(int(info.get("offset", 0)))
            return f.read(int(info["length"])) if "length" in info else f.read()
    return onnx.numpy_helper.to_array(t).tobytes() if not t.raw_data else t.raw_data


def _nbytes(t: onnx.TensorProto) -> int:
    if t.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in t.external_data}
        return int(info.get("length", 0))
    return len(t.raw_data) if t.raw_data else 4 * int(np.prod(t.dims) if t.dims else 1)


def write_model(model: onnx.ModelProto, base_dir: Path, out_path: Path) -> onnx.ModelProto:
    """Write `model` (whose external tensors, if any, live under base_dir) to out_path; weights inline when the
    total is under 2 GB, else all in `<out>.onnx_data` (offsets 4 KiB-aligned, like onnx's own writer)."""
    data_name = out_path.name + "_data"
    data_path = out_path.parent / data_name
    if data_path.exists():
        data_path.unlink()
    total = sum(_nbytes(t) for t in model.graph.initializer)
    if EXTERNAL_DATA == "never" and total + 64 * 1024**2 > TWO_GB:
        raise ExportError(f"{out_path.name}: {total / 1024**3:.2f} GB of weights cannot be stored inline (protobuf's "
                          f"2 GB limit); use --external-data auto or always")
    external = EXTERNAL_DATA == "always" or (EXTERNAL_DATA == "auto" and total + 64 * 1024**2 > TWO_GB)
    if not external:
        for t in model.graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                t.raw_data = _tensor_bytes(t, base_dir)
                t.data_location = onnx.TensorProto.DEFAULT
                del t.external_data[:]
        onnx.save_model(model, str(out_path))
        return model
    with open(data_path, "wb") as f:
        for t in model.graph.initializer:
            if _nbytes(t) < 1024 and t.data_location != onnx.TensorProto.EXTERNAL:
                continue  # small tensors stay inline
            data = _tensor_bytes(t, base_dir)
            pad = (-f.tell()) % 4096
            f.write(b"\0" * pad)
            offset = f.tell()
            f.write(data)
            t.ClearField("raw_data")
            for field in ("float_data", "int32_data", "int64_data", "double_data"):
                t.ClearField(field)
            del t.external_data[:]
            t.data_location = onnx.TensorProto.EXTERNAL
            for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(len(data)))):
                e = t.external_data.add()
                e.key, e.value = k, v
    onnx.save_model(model, str(out_path))
    return model


def session(path_or_bytes, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    src = str(path_or_bytes) if isinstance(path_or_bytes, (str, os.PathLike)) else path_or_bytes
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def with_extra_outputs(model_path: Path, names: list[str]) -> Path:
    """A copy of the model (next to the original, so external data resolves) with `names` added as graph
    outputs. Caller deletes the returned file."""
    model = onnx.load(str(model_path), load_external_data=False)
    have = {o.name for o in model.graph.output}
    for n in names:
        if n not in have:
            model.graph.output.append(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None))
    fd, tmp = tempfile.mkstemp(suffix=".hooks.onnx", dir=Path(model_path).parent)
    os.close(fd)
    onnx.save_model(model, tmp)
    return Path(tmp)


def max_abs(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ExportError(f"shape mismatch {a.shape} vs {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0
