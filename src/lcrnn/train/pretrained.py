"""The models shipped inside the package: their names, directories and cards.

A shipped model is an ordinary run directory under ``lcrnn/pretrained/<name>/`` (``model.safetensors``,
``config.json``, ``history.csv``) plus ``card.json``: what it was trained on, with which recipe, how it
scored, and the command that remakes it. :func:`lcrnn.train.run_dir.require_run_dir` resolves a name that is
not a path to its directory, so every route that loads a run (``Classifier.load``, ``lcrnn predict/serve/
ingest --model``, ``lcrnn train --init``) accepts the name; a path on disk always wins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lcrnn.train.checkpoint import CONFIG_FILE, MODEL_FILE

__all__ = ["CARD_FILE", "PRETRAINED_DIR", "model_card", "shipped_model", "shipped_models"]

# The data directory next to the code (package data: pyproject's [tool.setuptools.package-data]).
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
CARD_FILE = "card.json"


def shipped_models() -> dict[str, Path]:
    """Every shipped model, name -> run directory, in name order (empty when none is installed)."""
    if not PRETRAINED_DIR.is_dir():
        return {}
    return {path.name: path for path in sorted(PRETRAINED_DIR.iterdir())
            if (path / MODEL_FILE).is_file() and (path / CONFIG_FILE).is_file()}


def shipped_model(name: str | Path) -> Path | None:
    """The run directory of the shipped model called ``name``, or None when there is none by that name.

    Only a bare name resolves (``goto-sim``, not ``./goto-sim`` or ``runs/goto-sim``): anything with a
    directory part is a path and stays one.
    """
    text = str(name)
    if not text or Path(text).name != text or text in (".", ".."):
        return None
    return shipped_models().get(text)


def model_card(name: str) -> dict[str, Any]:
    """The card of a shipped model (``card.json``), with its name and the size of its files in bytes."""
    directory = shipped_model(name)
    if directory is None:
        raise KeyError(f"no shipped model {name!r}; shipped: {', '.join(shipped_models()) or 'none'}")
    card_path = directory / CARD_FILE
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    files = [path for path in directory.iterdir() if path.is_file()]
    return {"name": name, **card, "size_bytes": sum(path.stat().st_size for path in files),
            "directory": str(directory)}
