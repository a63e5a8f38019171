"""PyTorch baseline of `npm run bench`: the Fig-6-style steering sweep with forward hooks on the HF model the
bundle was exported from (same weights), at the same thread count as the ONNX Runtime side.

    python -m tools.bench.torch_sweep <job.json> <out.json>

job.json (written by src/cli/bench.ts): hf_dir, threads, prompt, answer_ids, layers, vectors {file, shape}
(raw little-endian float32 [cells, d]), inputs [{image, input_ids, position}], batch (variants per forward).
Two baselines, both timed (process CPU time, wall time too) end to end (processor + forward per call, as a hook script does it):
  naive   - one forward per (image, layer, cell), a hook adds the cell's vector at the subject position;
  batched - per (image, layer) one forward of `batch` rows (pixel_values repeated), row r gets vector r.
Writes timings and the answer log-probs [images, layers, cells, answers] of both, for the cross-check against
ONNX Runtime. Fails when the HF processor's input_ids differ from the TypeScript prepare()'s.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    torch.set_num_threads(int(job["threads"]))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from PIL import Image
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    hf = job["hf_dir"]
    model = LlavaForConditionalGeneration.from_pretrained(hf).eval()
    processor = AutoProcessor.from_pretrained(hf)
    layers_mod = model.model.language_model.layers
    vf = job["vectors"]
    vectors = torch.from_numpy(np.fromfile(Path(argv[0]).parent / vf["file"], dtype="<f4").reshape(vf["shape"]).copy())
    answers = torch.tensor(job["answer_ids"], dtype=torch.long)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": job["prompt"]}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)

    def encode(path: str, batch: int = 1) -> dict:
        enc = processor(images=Image.open(path).convert("RGB"), text=text, return_tensors="pt")
        out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
               "pixel_values": enc["pixel_values"].float()}
        if batch > 1:
            out = {k: v.repeat(batch, *([1] * (v.dim() - 1))) for k, v in out.items()}
        return out

    for k, inp in enumerate(job["inputs"]):
        ids = encode(inp["image"])["input_ids"][0].tolist()
        if ids != inp["input_ids"]:
            print(f"input {k}: HF processor input_ids {ids} differ from prepare()'s {inp['input_ids']}", file=sys.stderr)
            return 1

    def forward(enc: dict, layer: int, pos: int, vec: torch.Tensor) -> torch.Tensor:
        """vec [B, d]: row b gets vec[b] added at `pos` after decoder block `layer`; returns [B, answers]."""
        def hook(mod, args, output):
            h = output[0] if isinstance(output, tuple) else output
            h = h.clone()
            h[:, pos] = h[:, pos] + vec
            return (h, *output[1:]) if isinstance(output, tuple) else h
        handle = layers_mod[layer].register_forward_hook(hook)
        try:
            with torch.no_grad():
                logits = model(**enc, use_cache=False, return_dict=True).logits[:, -1].float()
        finally:
            handle.remove()
        return torch.log_softmax(logits, dim=-1)[:, answers]

    inputs, layers, C = job["inputs"], job["layers"], vectors.shape[0]
    forward(encode(inputs[0]["image"]), layers[0], inputs[0]["position"], vectors[:1])  # warm-up
    # process CPU time (all threads), like the TypeScript side; wall time reported too
    t, w = time.process_time(), time.perf_counter()
    naive = np.zeros((len(inputs), len(layers), C, len(answers)), np.float32)
    for k, inp in enumerate(inputs):
        for li, layer in enumerate(layers):
            for c in range(C):
                naive[k, li, c] = forward(encode(inp["image"]), layer, inp["position"], vectors[c:c + 1])[0].numpy()
    naive_s, naive_wall_s = time.process_time() - t, time.perf_counter() - w

    B = int(job["batch"])
    times = []
    for _ in range(3):  # median of three (the per-variant loop above is long enough to time once)
        t, w = time.process_time(), time.perf_counter()
        batched = np.zeros_like(naive)
        for k, inp in enumerate(inputs):
            for li, layer in enumerate(layers):
                for c0 in range(0, C, B):
                    vec = vectors[c0:c0 + B]
                    enc = encode(inp["image"], vec.shape[0])
                    batched[k, li, c0:c0 + vec.shape[0]] = forward(enc, layer, inp["position"], vec).numpy()
        times.append((time.process_time() - t, time.perf_counter() - w))
    batched_s, batched_wall_s = sorted(times)[1]

    Path(argv[1]).write_text(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "attn_implementation":
            getattr(model.config, "_attn_implementation", None), "variants": int(naive[..., 0].size),
        "naive_s": naive_s, "batched_s": batched_s, "naive_wall_s": naive_wall_s,
        "batched_wall_s": batched_wall_s, "measure": "process CPU time", "batch": B,
        "logprobs_naive": naive.tolist(), "logprobs_batched": batched.tolist(),
        "naive_vs_batched_max_abs": float(np.abs(naive - batched).max()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
