"""Tiny Qwen2-VL and Qwen2.5-VL: Qwen ViT (patch 4, temporal patch 2, 2x2 merge; Qwen2.5: RMSNorm, SwiGLU,
window attention with one full-attention block), Qwen2 decoder with M-RoPE (mrope_section [2, 3, 3] for head_dim
16), byte-level BPE tokenizer with ChatML specials, Qwen2-VL's chat template, the Qwen2-VL image processor
(smart_resize to multiples of 8 px here, 28 px in the real models)."""
from __future__ import annotations

from pathlib import Path

import torch

from .common import widen_init
from .tokenizers_tiny import qwen2_tokenizer

# Qwen/Qwen2-VL-2B-Instruct chat_template (Qwen2.5-VL uses the same one)
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PATCH, MERGE = 4, 2
IMAGE_SIZE = (40, 24)  # W x H: multiples of 8 (smart_resize keeps it) -> 10 x 6 patches -> 15 image tokens


def _build(out: Path, seed: int, v25: bool) -> Path:
    from transformers import Qwen2VLImageProcessorPil

    tok = qwen2_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")}
    text = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
                bos_token_id=None, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=False)
    common = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
                  tie_word_embeddings=False)
    if v25:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
        vision = dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=4, patch_size=PATCH,
                      spatial_merge_size=MERGE, temporal_patch_size=2, window_size=16, out_hidden_size=64,
                      fullatt_block_indexes=[1], hidden_act="silu")
        config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
        cls = Qwen2_5_VLForConditionalGeneration
    else:
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
        vision = dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=4, patch_size=PATCH,
                      spatial_merge_size=MERGE, temporal_patch_size=2, hidden_act="quick_gelu")
        config = Qwen2VLConfig(text_config=text, vision_config=vision, **common)
        cls = Qwen2VLForConditionalGeneration
    torch.manual_seed(seed)
    model = cls(config).eval()
    widen_init(model, seed)
    f = PATCH * MERGE
    ip = Qwen2VLImageProcessorPil(min_pixels=4 * f * f, max_pixels=64 * f * f, patch_size=PATCH, merge_size=MERGE,
                                  temporal_patch_size=2)
    # Qwen2VLProcessor needs a video processor (torchvision); the tokenizer and image processor are saved as the
    # real checkpoints have them and read back by tools/export's QwenProcessorLite
    model.save_pretrained(out)
    tok.save_pretrained(out)
    ip.save_pretrained(out)
    return out


def build_qwen2vl(out: Path, seed: int = 0) -> Path:
    return _build(out, seed, v25=False)


def build_qwen25vl(out: Path, seed: int = 0) -> Path:
    return _build(out, seed, v25=True)


SPEC = dict(name="qwen2-vl", build_hf=build_qwen2vl, image_size=IMAGE_SIZE,
            model_class="Qwen2VLForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
            compare_pixels=False, processor=lambda d: _lite(d))


def _lite(d):
    from tools.export.families.qwen2vl import QwenProcessorLite
    return QwenProcessorLite.from_pretrained(d)
