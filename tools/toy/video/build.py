"""Build the toy LLaVA-Video: word-level tokenizer with `<video>` (and `<image>`) placeholders + chat template,
a CLIP-style image-processor config for the frames, and LlavaNextVideoForConditionalGeneration with a Qwen2
text_config (real Hugging Face classes, so `save_pretrained` writes a folder that `from_pretrained` and
tools/export read).

Video path of LlavaNextVideo (get_video_features): every frame through the CLIP vision tower (64x64 px, patch 16 ->
4x4 = 16 patch tokens, CLS dropped), the resampler = 2x2 average pool (-> 2x2 = 4 tokens per frame), the MLP
projector; the 8 frames' tokens are concatenated (32 video tokens) at the single `<video>` placeholder, which the
processor (here: `expand_video`) repeats 32 times.
"""
from __future__ import annotations

import json
import os

from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlavaNextVideoConfig,
                          LlavaNextVideoForConditionalGeneration, PreTrainedTokenizerFast, Qwen2Config)

from ..build import (BOS, EOS, IMAGE, PAD, UNK, chat_template, checked_tied, n_params, vocab_with_reserved,
                     word_level_tokenizer, words_of)
from ..build import build_image_processor as toy_image_processor

VIDEO = "<video>"
SPECIALS = [PAD, BOS, EOS, UNK, IMAGE, VIDEO]

IMAGE_SIZE = 64
PATCH = 16
POOL = 2
FRAMES = 8
TOKENS_PER_FRAME = ((IMAGE_SIZE // PATCH) // POOL) ** 2  # 4
N_VIDEO_TOKENS = FRAMES * TOKENS_PER_FRAME  # 32
N_RESERVED = 32

FRAME_WORDS = [f"f{i}" for i in range(FRAMES)]
QUAD_WORDS = ["c0", "c1", "r0", "r1"]  # pooled token k sits in column c{k%2}, row r{k//2} of the 2x2 grid
BASE_WORDS = (
    "user assistant : ? . , empty "
    "does the come before or after is appear appears first frame scene video object "
    "yes no left right above below "
).split() + FRAME_WORDS + QUAD_WORDS

CHAT_TEMPLATE = chat_template(("video", "image"))


def prompt_text(question: str) -> str:
    """The exact prompt the chat template renders for one video + question with a generation prompt."""
    return f"USER: {VIDEO}\n{question} ASSISTANT:"


def build_vocab(words, previous: list[str] | None = None) -> list[str]:
    """specials + BASE_WORDS + sorted new words + reserved slots; with `previous`, existing ids never change."""
    return vocab_with_reserved(SPECIALS + list(dict.fromkeys(BASE_WORDS)), words, previous, N_RESERVED)


def build_tokenizer(vocab: list[str]) -> PreTrainedTokenizerFast:
    return word_level_tokenizer(vocab, SPECIALS, {"image_token": IMAGE, "video_token": VIDEO}, CHAT_TEMPLATE)


def build_image_processor() -> CLIPImageProcessor:
    """Per-frame preprocessing: 64x64 in and out, (x/255 - 0.5)/0.5 (the same as toy-llava's)."""
    return toy_image_processor(IMAGE_SIZE)


def build_config(vocab: list[str], *, vis_width=128, vis_layers=2, vis_heads=4, width=128, layers=8, heads=4,
                 kv_heads=4, mlp_mult=4) -> LlavaNextVideoConfig:
    vision = CLIPVisionConfig(hidden_size=vis_width, intermediate_size=vis_width * 4, num_hidden_layers=vis_layers,
                              num_attention_heads=vis_heads, image_size=IMAGE_SIZE, patch_size=PATCH, num_channels=3,
                              hidden_act="gelu", projection_dim=width)
    text = Qwen2Config(vocab_size=len(vocab), hidden_size=width, intermediate_size=width * mlp_mult,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                       max_position_embeddings=256, rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                       use_sliding_window=False, bos_token_id=vocab.index(BOS), eos_token_id=vocab.index(EOS),
                       pad_token_id=vocab.index(PAD))
    return LlavaNextVideoConfig(
        vision_config=vision, text_config=text, image_token_index=vocab.index(IMAGE),
        video_token_index=vocab.index(VIDEO), projector_hidden_act="gelu", vision_feature_select_strategy="default",
        vision_feature_layer=-1, spatial_pool_mode="average", spatial_pool_stride=POOL,
        image_grid_pinpoints=[[IMAGE_SIZE, IMAGE_SIZE]], tie_word_embeddings=True, image_seq_length=16,
        video_seq_length=N_VIDEO_TOKENS, pad_token_id=vocab.index(PAD))


def build_model(vocab: list[str], **kw) -> LlavaNextVideoForConditionalGeneration:
    return checked_tied(LlavaNextVideoForConditionalGeneration(build_config(vocab, **kw)))


def expand_video(ids: list[int], video_id: int) -> list[int]:
    """What LlavaNextVideoProcessor does to the prompt: the one <video> becomes frames x tokens_per_frame copies."""
    assert ids.count(video_id) == 1, f"prompt must contain exactly one {VIDEO}"
    k = ids.index(video_id)
    return ids[:k] + [video_id] * N_VIDEO_TOKENS + ids[k + 1:]


def save_hf_dir(model, vocab: list[str], path: str, meta: dict | None = None) -> None:
    """save_pretrained of the model and tokenizer, preprocessor_config.json (frames), chat template in
    tokenizer_config.json, and training.json."""
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    tok = build_tokenizer(vocab)
    tok.save_pretrained(path)
    ip = build_image_processor().to_dict()
    ip.update({"processor_class": "LlavaNextVideoProcessor", "patch_size": PATCH,
               "vision_feature_select_strategy": "default", "num_frames": FRAMES})
    json.dump(ip, open(os.path.join(path, "preprocessor_config.json"), "w"), indent=2)
    tc_path = os.path.join(path, "tokenizer_config.json")
    tc = json.load(open(tc_path))
    tc["chat_template"] = CHAT_TEMPLATE
    json.dump(tc, open(tc_path, "w"), indent=2)
    if meta is not None:
        json.dump(meta, open(os.path.join(path, "training.json"), "w"), indent=1)


if __name__ == "__main__":
    import numpy as np
    import tempfile
    import torch
    vocab = build_vocab(words_of("Does the frog come before or after the camel?"))
    tok = build_tokenizer(vocab)
    model = build_model(vocab).eval()
    print("params", n_params(model))
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Does the frog come before or after the camel?"}]}]
    text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert text == prompt_text("Does the frog come before or after the camel?"), repr(text)
    ids = expand_video(tok(text)["input_ids"], vocab.index(VIDEO))
    print(tok.convert_ids_to_tokens(ids))
    pv = torch.randn(1, FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), pixel_values_videos=pv)
    print(out.logits.shape)
    d = tempfile.mkdtemp()
    save_hf_dir(model, vocab, d)
    print(sorted(os.listdir(d)))
    m2 = LlavaNextVideoForConditionalGeneration.from_pretrained(d).eval()
    with torch.no_grad():
        print("reload diff", (m2(input_ids=torch.tensor([ids]), pixel_values_videos=pv).logits - out.logits).abs().max().item())
