"""Spatial-ID fine-tuning of the toy LLaVA (paper §4.4 / reference-code-spec §8); see tools/README.md."""
