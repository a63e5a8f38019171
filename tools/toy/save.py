"""Write a training checkpoint as the folder the exporter reads: HF save_pretrained of the model and the
LlavaProcessor, plus preprocessor_config.json and the chat template inside tokenizer_config.json
(transformers 5 writes them to processor_config.json / chat_template.jinja only)."""
from __future__ import annotations

import json
import os

from . import build


def save_hf_dir(model, vocab, path, meta=None):
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    proc = build.build_processor(vocab)
    proc.save_pretrained(path)
    proc.image_processor.to_json_file(os.path.join(path, "preprocessor_config.json"))
    tc_path = os.path.join(path, "tokenizer_config.json")
    tc = json.load(open(tc_path))
    tc["chat_template"] = build.CHAT_TEMPLATE
    json.dump(tc, open(tc_path, "w"), indent=2)
    if meta is not None:
        json.dump(meta, open(os.path.join(path, "training.json"), "w"), indent=1)
