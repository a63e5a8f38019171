"""Tiny LLaVA-1.5 (llava-hf/llava-1.5-7b-hf layout): CLIP ViT vision tower (feature layer -2, CLS dropped),
2-layer GELU projector, Llama decoder, Llama-2 style SentencePiece-BPE tokenizer with `<image>` and `<pad>` added
after the base vocabulary (as in llava-hf), llava-hf's chat template, CLIP image processor (resize shortest edge +
centre crop, bicubic, CLIP mean/std)."""
from __future__ import annotations

from pathlib import Path

import torch

from .common import widen_init
from .tokenizers_tiny import llama_tokenizer

# llava-hf/llava-1.5-7b-hf chat_template (the {% generation %} markers of assistant turns removed: they only
# matter for training masks and are not part of the Jinja language that other runtimes parse).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}"
    "{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

IMAGE_SIZE, PATCH = 28, 7  # 16 patches (+CLS); the real model: 336 px, patch 14, 576 tokens


def build_hf(out: Path, seed: int = 0) -> Path:
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    tok = llama_tokenizer(["<image>", "<pad>"])
    tok.pad_token = "<pad>"
    tok.chat_template = CHAT_TEMPLATE
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                              image_size=IMAGE_SIZE, patch_size=PATCH, projection_dim=32, hidden_act="quick_gelu")
    text = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                       rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_layer=-2, vision_feature_select_strategy="default",
                         projector_hidden_act="gelu", image_seq_length=(IMAGE_SIZE // PATCH) ** 2)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    widen_init(model, seed)
    ip = CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                               do_resize=True, do_center_crop=True, resample=3, do_rescale=True, do_normalize=True,
                               do_convert_rgb=True)
    proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=PATCH, vision_feature_select_strategy="default",
                          chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


SPEC = dict(
    name="llava-1.5", build_hf=build_hf, image_size=(IMAGE_SIZE, IMAGE_SIZE),
    model_class="LlavaForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
)
