"""Export Hugging Face VLMs to linmech / transformers.js-style ONNX bundles (see README.md)."""
