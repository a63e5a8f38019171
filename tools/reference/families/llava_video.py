"""Tiny LLaVA-Video (LLaVA-Video-7B-Qwen2 in transformers' LlavaOnevisionForConditionalGeneration layout): SigLIP
vision tower (20 px, patch 4 -> 5x5 patches; the real one 384 px, patch 14 -> 27x27, both odd, so the 2x2 bilinear
pooling resizes 5 -> ceil(5/2) = 3 by a non-integer factor as 27 -> 14 does), 2-layer GELU projector, image_newline,
Qwen2 decoder; Qwen2 byte-level BPE tokenizer with ChatML specials plus `<image>` and `<video>`; llava-hf's
LLaVA-OneVision chat template; LlavaOnevisionVideoProcessor settings (resize to 20x20 bicubic, CLIP mean/std).
A clip of FRAMES frames expands `<video>` to FRAMES x 9 + 1 placeholders (one image_newline after the last frame).

LlavaOnevisionProcessor / LlavaOnevisionVideoProcessor need torchvision, which the tools venv does not install: the
folder gets the files they would read (tokenizer, preprocessor_config.json of the image processor,
video_preprocessor_config.json, processor_config.json) and tools/export's VideoProcessorLite does the video
processing."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .common import widen_init
from .tokenizers_tiny import QWEN_SPECIAL, qwen2_tokenizer

# llava-hf LLaVA-OneVision chat_template (the {% generation %} markers of assistant turns removed, as in llava15.py)
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\n' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}"
    "{% endfor %}{% endif %}{{'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
IMAGE_SIZE, PATCH = 20, 4
FRAMES = 4
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def build_hf(out: Path, seed: int = 0) -> Path:
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessorPil, Qwen2Config, SiglipVisionConfig)

    out = Path(out)
    tok = qwen2_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL + ["<image>", "<video>"]})
    tok.chat_template = CHAT_TEMPLATE
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                image_size=IMAGE_SIZE, patch_size=PATCH, vision_use_head=False)
    text = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, rms_norm_eps=1e-6,
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, bos_token_id=None,
                       eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=False)
    config = LlavaOnevisionConfig(vision_config=vision, text_config=text,
                                  image_token_index=tok.convert_tokens_to_ids("<image>"),
                                  video_token_index=tok.convert_tokens_to_ids("<video>"),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  image_grid_pinpoints=[[IMAGE_SIZE, IMAGE_SIZE], [IMAGE_SIZE, 2 * IMAGE_SIZE]],
                                  tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    widen_init(model, seed)
    with torch.no_grad():  # a newline vector of the stream's scale (widen_init gives 1-d parameters 0.02 N(0, 1))
        g = torch.Generator().manual_seed(seed + 7)
        model.model.image_newline.copy_(torch.randn(text.hidden_size, generator=g))
    model.generation_config.eos_token_id = text.eos_token_id
    model.generation_config.pad_token_id = text.pad_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    ip = LlavaOnevisionImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                         image_grid_pinpoints=config.image_grid_pinpoints,
                                         image_mean=CLIP_MEAN, image_std=CLIP_STD)
    ip.save_pretrained(out)
    video = {"video_processor_type": "LlavaOnevisionVideoProcessor", "processor_class": "LlavaOnevisionProcessor",
             "do_resize": True, "size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE}, "resample": 3,
             "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN,
             "image_std": CLIP_STD, "do_convert_rgb": True, "do_center_crop": None, "do_sample_frames": False,
             "default_to_square": False}
    (out / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2) + "\n")
    (out / "processor_config.json").write_text(json.dumps(
        {"processor_class": "LlavaOnevisionProcessor", "num_image_tokens": (IMAGE_SIZE // PATCH) ** 2,
         "vision_feature_select_strategy": "full", "video_token": "<video>", "image_token": "<image>"}, indent=2) + "\n")
    return out


def _lite(d):
    from tools.export.families.llava_onevision import VideoProcessorLite
    return VideoProcessorLite.from_pretrained(d)


SPEC = dict(name="llava-video", build_hf=build_hf, image_size=(IMAGE_SIZE, IMAGE_SIZE), frames=FRAMES,
            model_class="LlavaOnevisionForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
            processor=_lite, text_model=lambda m: m.model.language_model)
