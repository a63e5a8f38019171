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


def export_module(module: torch.nn.Module, args: tuple, out_path: Path, input_names: list[str],
                  output_names: list[str], dynamic_axes: dict) -> onnx.ModelProto:
    """Export with the TorchScript exporter (dynamo=False), then re-save to `out_path`, with one external data
    file `<name>.onnx_data` when the model is over 2 GB. Returns the model proto (without weights loaded when
    external). The TorchScript exporter gives a graph whose node names keep the module path
    (`/model/layers.3/Add_1`), which is what the hook map is found from."""
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
        model = onnx.load(str(tmp_file), load_external_data=True)
    save_model(model, out_path)
    return model


def model_size_bytes(model: onnx.ModelProto) -> int:
    total = 0
    for t in model.graph.initializer:
        if t.raw_data:
            total += len(t.raw_data)
        else:
            total += 4 * int(np.prod(t.dims)) if t.dims else 4
    return total


def save_model(model: onnx.ModelProto, out_path: Path) -> None:
    out_path = Path(out_path)
    data_name = out_path.name + "_data"
    if (out_path.parent / data_name).exists():
        (out_path.parent / data_name).unlink()
    if model_size_bytes(model) + 64 * 1024**2 > TWO_GB:
        onnx.save_model(model, str(out_path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
    else:
        onnx.save_model(model, str(out_path))


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
