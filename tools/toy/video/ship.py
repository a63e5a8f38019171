"""Ship a toy-llava-video checkpoint as data/models/<name>: export (tools/export, llava-video family, ORT-vs-PyTorch
self-check), held-out evaluation through the TypeScript engine (src/dist/cli/evalToy.js -> eval.json), MODEL_CARD.md.

  python -m tools.toy.video.ship tools/toy/runs/toy-llava-video/ckpt-N [--name toy-llava-video] [--n 300]

The card's accuracy table is the one evalToy measures on the exported bundle (ONNX Runtime); the PyTorch learning
curve of the run is listed separately.
"""
from __future__ import annotations

import argparse
import os

from ..common import RUNS
from ..ship import (LICENCE, accuracy_table, add_ship_args, add_ship_mode_args, card_inputs, curve_rows, dir_mb,
                    n_params, ship)


def card(name: str, ckpt: str, bundle: str, evals: list[dict], n_eval: int) -> str:
    cfg, tr, meta = card_inputs(ckpt, bundle)
    a = tr["args"]
    vc, tc = cfg["vision_config"], cfg["text_config"]
    sc = meta.get("self_check", {})
    tpf, F = meta["tokens_per_frame"], meta["max_frames"]
    L = [f"# {name}", "",
         "Toy LLaVA-Video of the linmech project: answers \"Does the X come before or after the Y?\" about 8-frame clips "
         "(objects appearing at different frames; two scenes in order). Default model of the video (temporal-ID) "
         "experiments.", "",
         "## Architecture",
         f"- `LlavaNextVideoForConditionalGeneration` (Hugging Face transformers {meta['exported_with']['transformers']}) "
         f"with a **Qwen2** decoder (`Qwen2Config` text_config), {n_params(ckpt):,} parameters (tied input/output "
         "embeddings counted once).",
         f"- Per frame: CLIP ViT vision tower, {vc['image_size']}x{vc['image_size']} px, patch {vc['patch_size']} "
         f"(16 patch tokens, CLS dropped), {vc['num_hidden_layers']} layers, width {vc['hidden_size']}, "
         f"{vc['num_attention_heads']} heads, learned position embeddings -> `vision_resampler` = "
         f"{cfg.get('spatial_pool_mode', 'average')} pool {cfg.get('spatial_pool_stride', 2)}x{cfg.get('spatial_pool_stride', 2)} "
         f"-> {tpf} tokens per frame -> 2-layer MLP projector ({vc['hidden_size']} -> {tc['hidden_size']}). "
         f"The {F} frames' tokens are concatenated in frame order: {F * tpf} video tokens at the expanded `<video>` "
         "placeholder (frame f = video tokens 4f..4f+3).",
         f"- Decoder: qwen2, {tc['num_hidden_layers']} layers, width {tc['hidden_size']}, {tc['num_attention_heads']} "
         f"heads ({tc['num_key_value_heads']} KV heads), MLP {tc['intermediate_size']}, RoPE theta "
         f"{meta.get('rope_theta')}, RMSNorm, q/k/v biases; word-level vocabulary of {tc['vocab_size']} tokens "
         "(`tokenizer.json`, frame words `f0`..`f7`, chat template `USER: <video>\\n{question} ASSISTANT:`).",
         "- Why LlavaNextVideo and not LlavaOnevision: its `get_video_features` is exactly \"each frame through the "
         "vision tower, pooled, projected, concatenated\" with nothing else in the sequence, so a clip is frames x "
         f"{tpf} tokens, which is the layout of the engine's llava-video adapter and of the bundle's per-frame "
         "`vision_encoder.onnx`. LlavaOnevision projects before pooling (bilinear) and appends a learned "
         "`image_newline` token after every video, an extra position the temporal-ID experiments would have to "
         "special-case; both use the same Qwen2 decoder classes.",
         "",
         "## Training",
         f"- Command: `bash tools/toy/train-toy-llava-video.sh` (seeded, resumable; recipe in tools/README.md, "
         f"section toy-llava-video); this bundle is the checkpoint at step **{tr['step']}** ({tr['minutes']:.1f} min on "
         "2 CPU cores).",
         f"- Data: clips from the project's scene engine (`node src/dist/cli/shards.js --task video-appear|video-order`, "
         f"train split, seed {a['shard_seed']}, {a['n_train']:,} clips per task, 8 frames of 64x64 px) and, for the "
         f"object words only, {a['grid_n']:,} `{a['grid_task']}` grid scenes (which show every object). Training clips "
         "never show the 6 held-out objects (horse, lemon, truck, kite, mushroom, cactus); every held-out question "
         "asks about one of them.",
         f"- Stage 0 ({a['stage0']} steps): every pooled frame token classifies the objects whose box centre lies in "
         "its quadrant of that frame (or `empty`) against the tied word embeddings of the 42 object names; and at "
         f"`hidden_states[{a['frame_layer']}]` read through the final norm and the tied embeddings (logit lens), every "
         "video token names its frame word f0..f7 (frame loss).",
         f"- Stage 1: video-appear + video-order (`{a['tasks']}`), loss on the one-word answer + the **binding loss** "
         f"(weight {a['bind_weight']}): at `hidden_states[{a['bind_layer']}]` (= `blocks.{a['bind_layer'] - 1}."
         "hook_resid_post`), through the final norm and the tied embeddings, each object word of the question names "
         "the frame word of the frame where its object first appears; object loss x "
         f"{a['aux_weight']}, frame loss x {a['frame_weight']}. AdamW (beta2 0.98, wd {a['wd']}), lr {a['lr']} constant "
         f"after {a['warmup']} warm-up steps, batch {a['batch']} clips + {a['grid_frames']} grid scenes.",
         "",
         "## Held-out accuracy (ONNX Runtime, this bundle)",
         f"Measured by `node src/dist/cli/evalToy.js --model {name} --n {n_eval}` on freshly generated held-out clips "
         "(held-out seed stream; one held-out object in every question), greedy answer. Raw numbers: `eval.json`. "
         "Target of issue 9: >= 0.90 on both.", ""] + accuracy_table(evals)
    L += ["", "## Export check",
          f"`tools/export` self-check, ONNX Runtime vs PyTorch (batch 2, random 8-frame clips): prefill logits max |diff| "
          f"{sc.get('prefill_logits_max_abs', float('nan')):.1e}, decode step {sc.get('decode_logits_max_abs', float('nan')):.1e}, "
          f"every hook <= {max(sc.get('hooks_max_abs', {'-': float('nan')}).values()):.1e} (tolerance {sc.get('tolerance', 1e-4)}). "
          f"Bundle size {dir_mb(bundle):.1f} MB.", ""]
    rows = curve_rows(os.path.join(RUNS, a["name"]), tr["step"])
    if rows:
        tasks = [k for k in rows[0] if k not in ("step", "minutes", "stage", "lr", "loss", "obj_acc", "frame_acc", "bind_acc")]
        L += [f"## Learning curve up to this checkpoint (PyTorch, {a['eval_n']} held-out shard clips per task)", "",
              "| step | min | loss | object acc | frame acc | binding acc | " + " | ".join(tasks) + " |",
              "|---" * (6 + len(tasks)) + "|"]
        for r in rows:
            L.append(f"| {r['step']} | {float(r['minutes']):.0f} | {r['loss']} | {r['obj_acc']} | {r['frame_acc']} | "
                     f"{r['bind_acc']} | " + " | ".join(r[t] for t in tasks) + " |")
        L.append("")
    L += LICENCE
    return "\n".join(L)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ckpt")
    p.add_argument("--name", default="toy-llava-video")
    add_ship_args(p)
    p.add_argument("--threads", type=int, default=2)
    add_ship_mode_args(p)
    a = p.parse_args()
    ship(a, ["--threads", str(a.threads)], lambda bundle, evals: card(a.name, a.ckpt, bundle, evals, a.n))


if __name__ == "__main__":
    main()
