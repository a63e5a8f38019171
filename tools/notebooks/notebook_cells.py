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


# Notebook code shared by several generators (each notebook stays self-contained: the text is pasted into its cells).
# The first lines of an image-model notebook's setup cell: parameters, the model, one line describing it.
IMAGE_MODEL_SETUP = r'''
import * as lm from "@linmech/kernel-ext";

// Parameters: the model (a name under data/models or a bundle folder) and CI mode (reduced sizes).
const MODEL = process.env.LINMECH_MODEL ?? "toy-llava";
const CI = process.env.LINMECH_CI === "1";
const model = await lm.run(() => lm.loadModel(MODEL));
console.log(`model ${model.name}: ${model.numLayers} decoder blocks, width ${model.width}, ` +
  `${model.meta.tokens_per_image} image tokens of a ${model.meta.image_size}px image${CI ? " — CI mode (reduced sizes)" : ""}`);
'''.lstrip("\n")

# The model's universal IDs (computed once per bundle content and cached; ID_OBJECTS / ID_VARIANT set before), with a
# progress bar, and the objects its scenes may use.
UNIVERSAL_IDS_SETUP = r'''
let idBar: lm.Progress | undefined;
const ids = await lm.run(() => lm.universalIdsFor(model, {
  variant: ID_VARIANT, objects: ID_OBJECTS,
  onProgress: (d, t) => { idBar = idBar ?? lm.progress(t, { label: "universal-ID pairs" }); idBar.set(d); },
}));
idBar?.done();
console.log(`universal IDs (${ID_OBJECTS.length} objects): ${ids.source}`);
const sceneObjects = lm.sceneObjectsFor(model);
'''.lstrip("\n")
