"""Build the toy LLaVA: word-level tokenizer, CLIP image processor, LlavaProcessor and
LlavaForConditionalGeneration (CLIP vision tower + MLP projector + Llama decoder, tied embeddings).

Everything here is a real Hugging Face class, so `save_pretrained` writes a folder that
`LlavaForConditionalGeneration.from_pretrained` / `LlavaProcessor.from_pretrained` and the exporter read.
"""
from __future__ import annotations

import json
import re

from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

PAD, BOS, EOS, UNK, IMAGE = "<pad>", "<s>", "</s>", "<unk>", "<image>"
SPECIALS = [PAD, BOS, EOS, UNK, IMAGE]

# Words of the chat template and of the question templates we know of. Words met in the shards are
# added on top (build_vocab), so a task appended later only needs new words appended at the end.
BASE_WORDS = (
    "user assistant : ? . , empty "
    "is the to left or right of above below in which column row what cell "
    "near far closer farther from camera between and front behind before after appear appears first "
    "scene frame video object "
    "yes no "
    + " ".join(f"c{i}" for i in range(8)) + " " + " ".join(f"r{i}" for i in range(8))
).split()

IMAGE_SIZE = 64
PATCH = 16
N_IMAGE_TOKENS = (IMAGE_SIZE // PATCH) ** 2

def chat_template(media: tuple[str, ...] = ("image",)) -> str:
    """`USER: <image>\n{question} ASSISTANT: {answer}</s>`: each content item of type m in `media` renders as its
    placeholder `<m>` and a newline (toy-llava-video passes ("video", "image"))."""
    placeholders = "{% el".join(f"if item['type'] == '{m}' %}}{{{{ '<{m}>\\n' }}}}" for m in media)
    return (
        "{% for message in messages %}"
        "{% if message['role'] == 'user' %}"
        "{{ 'USER: ' }}"
        "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for item in message['content'] %}"
        "{% " + placeholders +
        "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
        "{% endfor %}{% endif %}{{ ' ' }}"
        "{% elif message['role'] == 'assistant' %}"
        "{{ 'ASSISTANT: ' }}"
        "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
        "{{ '</s>' }}"
        "{% endif %}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
    )


CHAT_TEMPLATE = chat_template()


def prompt_text(question: str) -> str:
    """The exact prompt the chat template renders for one image + question with a generation prompt."""
    return f"USER: {IMAGE}\n{question} ASSISTANT:"


_WORD = re.compile(r"\w+|[^\w\s]+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def build_vocab(extra_words, previous: list[str] | None = None) -> list[str]:
    """Vocabulary = specials + BASE_WORDS + sorted new words. With `previous`, keep its order and
    append only unseen words (ids of existing words never change, so checkpoints stay valid)."""
    vocab = list(previous) if previous else SPECIALS + [w for w in dict.fromkeys(BASE_WORDS)]
    seen = set(vocab)
    for w in sorted(set(extra_words)):
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    return vocab


def vocab_with_reserved(head: list[str], words, previous: list[str] | None, n_reserved: int) -> list[str]:
    """head (specials + base words) + sorted new words + `n_reserved` slots `<unusedK>` for words of tasks added
    later (no embedding resize needed). With `previous`, unseen words take its first free reserved slots, so the
    ids of existing words never change. Used by both toy trainers."""
    if previous is None:
        core = list(head)
        seen = set(core)
        return core + [w for w in sorted(set(words)) if w not in seen] + [f"<unused{i}>" for i in range(n_reserved)]
    core = [w for w in previous if not w.startswith("<unused")]
    new = [w for w in sorted(set(words)) if w not in set(core)]
    out = list(previous)
    free = [i for i, w in enumerate(out) if w.startswith("<unused")]
    assert len(new) <= len(free), f"{len(new)} new words but only {len(free)} reserved slots"
    for i, w in zip(free, new):
        out[i] = w
    return out


def word_level_tokenizer(vocab: list[str], specials: list[str], extra_special_tokens: dict[str, str],
                         chat_template: str) -> PreTrainedTokenizerFast:
    """The toy models' tokenizer: lower-cased whitespace words of `vocab`, `<s>` prepended, `specials` never split.
    Shared by toy-llava (here) and toy-llava-video (tools/toy/video/build.py)."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab.index(BOS))])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=UNK, pad_token=PAD,
        extra_special_tokens=extra_special_tokens, model_max_length=256,
        padding_side="right", clean_up_tokenization_spaces=False)
    fast.chat_template = chat_template
    return fast


def build_tokenizer(vocab: list[str]) -> PreTrainedTokenizerFast:
    return word_level_tokenizer(vocab, SPECIALS, {"image_token": IMAGE}, CHAT_TEMPLATE)


def build_image_processor(size: int = IMAGE_SIZE) -> CLIPImageProcessor:
    """size x size in and out (resize to shortest edge `size` is the identity on our scenes, no centre crop),
    then (x/255 - 0.5)/0.5. The frames of toy-llava-video use the same."""
    return CLIPImageProcessor(
        do_resize=True, size={"shortest_edge": size}, do_center_crop=False,
        crop_size={"height": size, "width": size}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_convert_rgb=True)


def build_processor(vocab: list[str]) -> LlavaProcessor:
    tok = build_tokenizer(vocab)
    return LlavaProcessor(image_processor=build_image_processor(), tokenizer=tok, patch_size=PATCH,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=CHAT_TEMPLATE, image_token=IMAGE)


def build_config(vocab_size: int, *, vis_width=128, vis_layers=2, vis_heads=4, width=128, layers=8,
                 heads=4, mlp_mult=4) -> LlavaConfig:
    vision = CLIPVisionConfig(hidden_size=vis_width, intermediate_size=vis_width * 4,
                              num_hidden_layers=vis_layers, num_attention_heads=vis_heads,
                              image_size=IMAGE_SIZE, patch_size=PATCH, num_channels=3, hidden_act="gelu",
                              projection_dim=width)
    text = LlamaConfig(vocab_size=vocab_size, hidden_size=width, intermediate_size=width * mlp_mult,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=256, rope_theta=10000.0, rms_norm_eps=1e-5,
                       tie_word_embeddings=True, bos_token_id=SPECIALS.index(BOS),
                       eos_token_id=SPECIALS.index(EOS), pad_token_id=SPECIALS.index(PAD))
    return LlavaConfig(vision_config=vision, text_config=text, image_token_index=SPECIALS.index(IMAGE),
                       projector_hidden_act="gelu", vision_feature_select_strategy="default",
                       vision_feature_layer=-1, tie_word_embeddings=True,
                       pad_token_id=SPECIALS.index(PAD))


def checked_tied(model):
    """`model`, after checking that its input and output embeddings are one tensor (both toy models tie them)."""
    emb = model.get_input_embeddings().weight
    out = model.get_output_embeddings().weight
    assert emb.data_ptr() == out.data_ptr(), "input/output embeddings are not tied"
    return model


def build_model(vocab_size: int, **kw) -> LlavaForConditionalGeneration:
    return checked_tied(LlavaForConditionalGeneration(build_config(vocab_size, **kw)))


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    import numpy as np
    import torch
    vocab = build_vocab(["frog", "camel"])
    proc = build_processor(vocab)
    model = build_model(len(vocab))
    print("params", n_params(model))
    img = np.zeros((64, 64, 3), np.uint8)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is the frog to the left or right of the camel?"}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True)
    print(repr(text))
    assert text == prompt_text("Is the frog to the left or right of the camel?"), text
    enc = proc(images=[img], text=[text], return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    print(ids, proc.tokenizer.convert_ids_to_tokens(ids))
    assert ids.count(vocab.index(IMAGE)) == N_IMAGE_TOKENS
    with torch.no_grad():
        out = model(**enc)
    print(out.logits.shape)
    import tempfile, os
    d = tempfile.mkdtemp()
    model.save_pretrained(d)
    proc.save_pretrained(d)
    print(sorted(os.listdir(d)))
    p2 = LlavaProcessor.from_pretrained(d)
    m2 = LlavaForConditionalGeneration.from_pretrained(d)
    enc2 = p2(images=[img], text=[text], return_tensors="pt")
    assert enc2["input_ids"].tolist() == enc["input_ids"].tolist()
    with torch.no_grad():
        print("reload diff", (m2(**enc2).logits - out.logits).abs().max().item())
    print(json.load(open(os.path.join(d, "tokenizer_config.json"))).keys())
