"""Tiny Llama-3.2-Vision (MllamaForConditionalGeneration): Mllama vision encoder (16 px tiles, patch 4 -> 16 patches
+ CLS = 17 tokens per tile, up to 4 tiles, 2 local + 1 gated global layers, intermediate layers 0 and 1 concatenated
-> vision_output_dim 96), linear projector to the text width; a Llama-3 text model of 4 layers of which 1 and 3 are
cross-attention layers (no self-attention, no KV cache; tanh gates set to ~0.8 so the image matters), Llama-3 RoPE.

Tokenizer: Llama-3 kind (byte-level BPE) with <|begin_of_text|> <|end_of_text|> <|start_header_id|> <|end_header_id|>
<|eot_id|> <|python_tag|> and, as in the real checkpoint, <|image|> as the last id == text vocab_size (the embedding
table has vocab_size + 8 rows; the lm_head only vocab_size). A Llama-3 style chat template (image part "<|image|>").
Image processor: MllamaImageProcessorPil (tiles 16 px, max_image_tiles 4, bilinear, CLIP mean/std as the real checkpoint).
The test images are 32x16 (W x H): canvas 1x2 tiles, 2 valid tiles + 2 padded ones (aspect_ratio_mask [1,1,0,0]).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .common import widen_init
from .tokenizers_tiny import byte_level_vocab

CHAT_TEMPLATE = (
    "{{- bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% if message['content'] is string %}{{ message['content'] | trim }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<|image|>' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] | trim }}{% endif %}{% endfor %}{% endif %}"
    "{{ '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
TILE, PATCH, MAX_TILES = 16, 4, 4
LLAMA3_SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                  "<|python_tag|>", "<|finetune_right_pad_id|>"]


def llama3_tokenizer():
    """Llama-3 kind: byte-level BPE (~400 tokens) + the Llama-3 specials, then <|image|> last (its id is the text
    vocab size, as in meta-llama/Llama-3.2-11B-Vision-Instruct where <|image|> = 128256)."""
    from transformers import Qwen2Tokenizer

    vocab, merges = byte_level_vocab(400)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token="<|begin_of_text|>",
                         eos_token="<|eot_id|>", pad_token="<|finetune_right_pad_id|>")
    tok.add_special_tokens({"additional_special_tokens": LLAMA3_SPECIAL + ["<|image|>"]})
    assert tok.convert_tokens_to_ids("<|image|>") == len(tok) - 1
    return tok


def build_hf(out: Path, seed: int = 0) -> Path:
    from transformers import (MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil, MllamaProcessor,
                              MllamaTextConfig, MllamaVisionConfig)

    tok = llama3_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    image_id = tok.convert_tokens_to_ids("<|image|>")
    vision = MllamaVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_global_layers=1,
                                attention_heads=4, image_size=TILE, patch_size=PATCH, max_num_tiles=MAX_TILES,
                                intermediate_layers_indices=[0, 1], vision_output_dim=96)
    text = MllamaTextConfig(vocab_size=image_id, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                            num_attention_heads=4, num_key_value_heads=2, cross_attention_layers=[1, 3],
                            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                             "original_max_position_embeddings": 64},
                            max_position_embeddings=1024, rms_norm_eps=1e-5,
                            bos_token_id=tok.convert_tokens_to_ids("<|begin_of_text|>"),
                            eos_token_id=[tok.convert_tokens_to_ids("<|end_of_text|>"), tok.convert_tokens_to_ids("<|eot_id|>")],
                            pad_token_id=tok.convert_tokens_to_ids("<|finetune_right_pad_id|>"), tie_word_embeddings=False)
    config = MllamaConfig(vision_config=vision, text_config=text, image_token_index=image_id)
    torch.manual_seed(seed)
    model = MllamaForConditionalGeneration(config).eval()
    widen_init(model, seed)
    with torch.no_grad():  # HF initialises the tanh gates at 0 (cross-attention layers = identity): open them
        g = torch.Generator().manual_seed(seed + 7)
        for name, p in model.named_parameters():
            if name.endswith(("cross_attn_attn_gate", "cross_attn_mlp_gate", "gate_attn", "gate_ffn")) or \
                    name.endswith("tile_positional_embedding.gate") or name.endswith("gated_positional_embedding.gate"):
                p.copy_(0.8 + 0.2 * torch.randn(p.shape, generator=g))
    ip = MllamaImageProcessorPil(size={"height": TILE, "width": TILE}, max_image_tiles=MAX_TILES, resample=2,
                                 do_rescale=True, do_normalize=True, image_mean=[0.48145466, 0.4578275, 0.40821073],
                                 image_std=[0.26862954, 0.26130258, 0.27577711])  # the 11B checkpoint's (CLIP's)
    proc = MllamaProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


SPEC = dict(name="mllama", build_hf=build_hf, image_size=(2 * TILE, TILE),
            model_class="MllamaForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
            processor_kwargs={"add_special_tokens": False}, text_model=lambda m: m.model.language_model,
            image_edit_layer=1)
