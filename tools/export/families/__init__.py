"""One module per model family. Each exposes a `Family` subclass; REGISTRY maps HF `architectures` names to it.
To add a family: write `families/<name>.py` with a Family subclass and list it in `_MODULES`."""
from __future__ import annotations

import importlib

from .base import Family

_MODULES = ["llava", "qwen2vl", "gemma3", "internvl", "llava_next_video", "llava_onevision", "mllama"]


def registry() -> dict[str, type[Family]]:
    out: dict[str, type[Family]] = {}
    for name in _MODULES:
        mod = importlib.import_module(f"{__name__}.{name}")
        for fam in mod.FAMILIES:
            for arch in fam.architectures:
                out[arch] = fam
    return out
