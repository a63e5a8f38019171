"""Shared pieces of the notebook generators in this folder: nbformat v4 cells and the writer (kernel linmech-ts)."""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
META = {
    "kernelspec": {"name": "linmech-ts", "display_name": "TypeScript (linmech)", "language": "typescript"},
    "language_info": {"name": "typescript", "file_extension": ".ts"},
}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n").splitlines(keepends=True)}


def code(text):
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": text.strip("\n").splitlines(keepends=True)}


def write(name, cells):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": META, "cells": cells}
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"{name.split('-')[0]}-{i:02d}"
    (ROOT / "notebooks" / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
