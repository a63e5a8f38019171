"""Tiny InternVL3 (OpenGVLab/InternVL3-*-hf layout): InternViT (32 px tiles, patch 4 -> 8x8 patches + CLS, layer
scale), pixel shuffle 0.5 -> 16 tokens per tile, LayerNorm + MLP projector, Qwen2 decoder; the Qwen2 byte-level
tokenizer with <img> </img> <IMG_CONTEXT> <video>; a ChatML chat template whose image part is "<IMG_CONTEXT>\\n"
(as the -hf checkpoints'); GotOcr2 image processor (32 px tiles, bicubic, ImageNet mean/std, up to 12 tiles)."""
from __future__ import annotations

from pathlib import Path

import torch

from .common import widen_init
from .tokenizers_tiny import internvl_tokenizer

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "{{ '<IMG_CONTEXT>\n' }}{% elif content['type'] == 'video' %}{{ '<video>\n' }}{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}{% endif %}{% endfor %}{% endif %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
IMAGE_SIZE, PATCH = 32, 4


def build_hf(out: Path, seed: int = 0) -> Path:
    from transformers import (GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLVisionConfig, Qwen2Config)

    tok = internvl_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    vision = InternVLVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                  image_size=IMAGE_SIZE, patch_size=PATCH, norm_type="layer_norm",
                                  layer_scale_init_value=0.5)
    text = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rms_norm_eps=1e-6,
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, bos_token_id=None,
                       eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=False)
    seq = (IMAGE_SIZE // PATCH) ** 2 // 4
    config = InternVLConfig(vision_config=vision, text_config=text, image_token_id=tok.context_image_token_id,
                            image_seq_length=seq, downsample_ratio=0.5, projector_hidden_act="gelu",
                            vision_feature_layer=-1, vision_feature_select_strategy="default", tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config).eval()
    widen_init(model, seed)
    ip = GotOcr2ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, resample=3, do_rescale=True,
                                  do_normalize=True, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
                                  crop_to_patches=False, min_patches=1, max_patches=12)
    # InternVLProcessor needs a video processor (torchvision); tokenizer and image processor are saved as the
    # -hf checkpoints have them and read back by tools/export's InternVLProcessorLite (crop_to_patches on, as
    # InternVLProcessor forces it)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    ip.save_pretrained(out)
    return out


def _lite(d):
    from transformers import AutoConfig
    from tools.export.families.internvl import InternVLProcessorLite
    return InternVLProcessorLite.from_pretrained(d, AutoConfig.from_pretrained(d).image_seq_length)


SPEC = dict(name="internvl3", build_hf=build_hf, image_size=(IMAGE_SIZE, IMAGE_SIZE),
            model_class="InternVLForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
            processor=_lite)
