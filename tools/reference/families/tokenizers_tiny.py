"""Tiny tokenizers of the real families' kinds, trained locally (no download) on the paper's question words.

Each is built with the `tokenizers` trainers and then wrapped in the family's own transformers tokenizer class
(LlamaTokenizer = SentencePiece-style BPE with byte fallback; Qwen2Tokenizer = byte-level BPE; GemmaTokenizer),
so the tokenizer.json written by save_pretrained has the same normalizer / pre-tokenizer / decoder as the real
checkpoints', only with a ~400-token vocabulary. Object words split into several sub-tokens (e.g. "▁fr" "og"), so
the "last sub-token of the word" convention is exercised.
"""
from __future__ import annotations

OBJECTS = ["backpack", "fan", "camel", "frog", "dog", "cake", "log", "robot", "person", "teapot"]
_TEMPLATES = [
    "Is the {a} to the left or right of the {b}?",
    "Is the {a} above or below the {b}?",
    "Is the {a} near or far from the camera?",
    "Which object appears first, the {a} or the {b}?",
    "Answer with one word: left, right, above, below, yes or no.",
    "USER: ASSISTANT: user assistant system model Yes No yes no",
]


def corpus() -> list[str]:
    out = []
    for t in _TEMPLATES:
        for a in OBJECTS:
            for b in OBJECTS[:3]:
                out.append(t.format(a=a, b=b))
    return out


def _train_bpe(pre_tokenizer, vocab_size: int, initial_alphabet=None, decoder=None):
    from tokenizers import Tokenizer, models, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    if decoder is not None:
        tok.decoder = decoder
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=initial_alphabet or [])
    tok.train_from_iterator(corpus(), trainer)
    import json
    m = json.loads(tok.to_str())["model"]
    merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in m["merges"]]
    return m["vocab"], merges


def llama_tokenizer(extra_special: list[str] = ()):
    """LLaVA-1.5's Llama-2 tokenizer kind: <unk> <s> </s>, 256 byte-fallback tokens, Metaspace BPE."""
    from tokenizers import pre_tokenizers
    from transformers import LlamaTokenizer

    trained, merges = _train_bpe(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True), 220)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t in sorted(trained, key=trained.get):
        vocab.setdefault(t, len(vocab))
    tok = LlamaTokenizer(vocab=vocab, merges=merges, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                         add_bos_token=True, add_eos_token=False, legacy=False)
    if extra_special:
        tok.add_special_tokens({"additional_special_tokens": list(extra_special)})
    return tok


def byte_level_vocab(vocab_size: int = 400):
    from tokenizers import pre_tokenizers

    trained, merges = _train_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), vocab_size,
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    vocab = {}
    for t in sorted(trained, key=trained.get):
        vocab.setdefault(t, len(vocab))
    return vocab, merges


QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]


def qwen2_tokenizer():
    """Qwen2 / Qwen2-VL / InternVL3 kind: byte-level BPE (Qwen2Tokenizer), <|endoftext|> + ChatML specials."""
    from transformers import Qwen2Tokenizer

    vocab, merges = byte_level_vocab(400)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL})
    return tok


GEMMA_SPECIAL = ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"]


def gemma_tokenizer():
    """Gemma-3 kind: <pad> <eos> <bos> <unk> <mask>, turn and image specials, byte fallback, BPE over text whose
    spaces the normalizer turns into "▁" (GemmaTokenizer)."""
    from tokenizers import pre_tokenizers
    from transformers import GemmaTokenizer

    trained, merges = _train_bpe(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True), 220)
    vocab = {}
    for t in ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"] + GEMMA_SPECIAL:
        vocab[t] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t in sorted(trained, key=trained.get):
        vocab.setdefault(t, len(vocab))
    tok = GemmaTokenizer(vocab=vocab, merges=merges, extra_special_tokens={
        "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>",
        "sot_token": "<start_of_turn>", "eot_token": "<end_of_turn>"})
    tok.add_special_tokens({"additional_special_tokens": GEMMA_SPECIAL})
    return tok


INTERNVL_SPECIAL = ["<img>", "</img>", "<IMG_CONTEXT>", "<video>"]


def internvl_tokenizer():
    """InternVL3-hf kind: the Qwen2 byte-level BPE with ChatML specials plus <img> </img> <IMG_CONTEXT> <video>,
    named start/end/context image token and video token (what InternVLProcessor reads)."""
    from transformers import Qwen2Tokenizer

    vocab, merges = byte_level_vocab(400)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", extra_special_tokens={
                             "start_image_token": "<img>", "end_image_token": "</img>",
                             "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"})
    tok.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL + INTERNVL_SPECIAL})
    return tok
