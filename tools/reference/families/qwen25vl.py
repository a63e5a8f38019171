"""Tiny Qwen2.5-VL (see qwen2vl.py)."""
from .qwen2vl import IMAGE_SIZE, _lite, build_qwen25vl

SPEC = dict(name="qwen2.5-vl", build_hf=build_qwen25vl, image_size=IMAGE_SIZE,
            model_class="Qwen2_5_VLForConditionalGeneration", layers=lambda m: m.model.language_model.layers,
            compare_pixels=False, processor=_lite)
