"""Saving and loading without pickle: tensors in safetensors, everything else in JSON.

Two kinds of files live here: the finished model (`model.safetensors` + `config.json`, what users share) and the
training state of an unfinished run (`training_state.safetensors` + `training_state.json`), which holds what a
resumed run needs to continue exactly where it stopped: weights, Adam moments, random generators, history.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

__all__ = ["CONFIG_FILE", "MODEL_FILE", "load_model", "load_training_state", "save_model", "save_training_state"]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "training_state.safetensors"
STATE_JSON = "training_state.json"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}


def save_model(directory: str | Path, state_dict: dict[str, torch.Tensor], config: dict) -> Path:
    """Write `model.safetensors` and `config.json` into `directory` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (MODEL_FILE + ".tmp")
    save_file(_contiguous(state_dict), str(tmp), metadata={"format": "pt", "producer": "lcrnn"})
    os.replace(tmp, directory / MODEL_FILE)
    _atomic_write_text(directory / CONFIG_FILE, json.dumps(config, indent=1, allow_nan=True))
    return directory


def load_model(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a model written by `save_model`; never unpickles. Callers check the directory with
    :func:`lcrnn.train.run_dir.require_run_dir` first."""
    directory = Path(directory)
    return load_file(str(directory / MODEL_FILE)), json.loads((directory / CONFIG_FILE).read_text())


def save_training_state(directory, network, optimiser, generator, epoch, history_rows, best_state,
                        best_val_auc, best_epoch) -> None:
    """Everything a resumed run needs, written atomically after each epoch."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in network.state_dict().items()}
    tensors.update({f"best.{k}": v for k, v in best_state.items()})
    opt = optimiser.state_dict()
    for index, slots in opt["state"].items():
        for name, value in slots.items():
            tensors[f"opt.{index}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    tensors["rng.generator"] = generator.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    tmp = directory / (STATE_FILE + ".tmp")
    save_file(_contiguous(tensors), str(tmp))
    os.replace(tmp, directory / STATE_FILE)
    meta = {
        "epoch": epoch,
        "best_val_auc": None if not math.isfinite(best_val_auc) else best_val_auc,
        "best_epoch": best_epoch,
        "param_groups": opt["param_groups"],
        "history": history_rows,
    }
    _atomic_write_text(directory / STATE_JSON, json.dumps(meta, allow_nan=True))


def load_training_state(directory, network, optimiser, generator, device) -> dict | None:
    """Restore a run saved by `save_training_state` into the given objects; None when there is none."""
    directory = Path(directory)
    if not (directory / STATE_FILE).is_file() or not (directory / STATE_JSON).is_file():
        return None
    tensors = load_file(str(directory / STATE_FILE))
    meta = json.loads((directory / STATE_JSON).read_text())
    network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
    optimiser.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    generator.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    best = meta["best_val_auc"]
    return {
        "epoch": int(meta["epoch"]),
        "history": meta["history"],
        "best_state": best_state,
        "best_val_auc": -math.inf if best is None else float(best),
        "best_epoch": int(meta["best_epoch"]),
    }
