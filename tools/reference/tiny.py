"""Tiny, seeded, randomly initialised Hugging Face VLMs (+ word-level tokenizer, chat template, processor).

They are fixtures for the exporter and for the TypeScript engine's parity tests: real transformers classes at a
size that builds, exports and runs in seconds on one CPU thread. Nothing here is trained.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

# Words of the paper's question templates (and a few more), so prompts tokenize without <unk>.
OBJECTS = ["backpack", "fan", "camel", "frog", "dog", "cake", "log", "robot", "person", "teapot"]
WORDS = [
    "USER", "ASSISTANT", ":", "?", ".", ",",
    "is", "Is", "the", "a", "to", "left", "right", "of", "or", "above", "below", "near", "far", "from",
    "camera", "in", "front", "behind", "between", "and", "before", "after", "appear", "appears", "first",
    "which", "Which", "column", "row", "what", "What", "cell", "yes", "no", "Yes", "No", "object", "image",
    "video", "frame", "closer", "further", "Answer", "with", "one", "word", "on", "top", "bottom",
] + OBJECTS
SPECIAL = ["<unk>", "<pad>", "<s>", "</s>", "<image>", "<video>"]

# LLaVA-1.5 style template; content may be a string or a list of {type: image|video|text} parts.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'video' %}<video>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %} "
    "{% else %}ASSISTANT: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}</s>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def build_tokenizer():
    """A WordLevel tokenizer (Whitespace pre-tokenizer) wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {}
    for w in SPECIAL + WORDS:
        if w not in vocab:
            vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(SPECIAL)
    bos = vocab["<s>"]
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", bos)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        extra_special_tokens={"image_token": "<image>", "video_token": "<video>"},
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


TINY_LLAVA = dict(
    image_size=32, patch_size=8, vision_hidden=32, vision_layers=2, vision_heads=4, vision_inter=64,
    text_hidden=64, text_layers=3, text_heads=4, text_kv_heads=2, text_inter=128,
)


def build_tiny_llava(out_dir: str | os.PathLike, seed: int = 0) -> Path:
    """Seeded tiny LlavaForConditionalGeneration (CLIP vision, MLP projector, Llama decoder with GQA), saved with
    save_pretrained together with its processor. Returns the folder."""
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    c = TINY_LLAVA
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    vocab_size = len(tokenizer)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(
        hidden_size=c["vision_hidden"], intermediate_size=c["vision_inter"], num_hidden_layers=c["vision_layers"],
        num_attention_heads=c["vision_heads"], image_size=c["image_size"], patch_size=c["patch_size"],
        projection_dim=c["vision_hidden"],
    )
    text = LlamaConfig(
        vocab_size=vocab_size, hidden_size=c["text_hidden"], intermediate_size=c["text_inter"],
        num_hidden_layers=c["text_layers"], num_attention_heads=c["text_heads"],
        num_key_value_heads=c["text_kv_heads"], max_position_embeddings=256, rms_norm_eps=1e-5,
        rope_theta=10000.0, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=image_token_id,
        vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu",
        image_seq_length=(c["image_size"] // c["patch_size"]) ** 2,
    )
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    # The default init (std 0.02) makes a nearly uniform, input-insensitive model; widen the weights so that
    # parity tests see logits that really depend on the image and every layer (still deterministic).
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1] ** 0.5))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": c["image_size"]}, crop_size={"height": c["image_size"], "width": c["image_size"]},
        do_resize=False, do_center_crop=False, do_rescale=True, do_normalize=True, do_convert_rgb=True,
    )
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=c["patch_size"],
        vision_feature_select_strategy="default", chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1,
    )
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    return out
