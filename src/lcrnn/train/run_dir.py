"""A run directory: the one place that writes, recognises and loads a trained model.

A run directory holds ``model.safetensors`` (the weights) and ``config.json`` (everything inference needs:
classes, network and training settings, context settings, the fitted scaler, the split), plus
``history.csv`` when it was trained here. ``Classifier.load``, ``lcrnn predict``, ``lcrnn serve`` and
``lcrnn ingest`` all go through :func:`load_run`, so a model means the same thing on every route.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from safetensors import SafetensorError

from lcrnn.data.context import NOT_RECORDED, ContextConfig
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.splits import Split
from lcrnn.errors import InvalidConfigError, LcrnnError
from lcrnn.model.calibration import Calibration
from lcrnn.model.config import NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.train.augment import AugmentConfig
from lcrnn.train.checkpoint import CONFIG_FILE, MODEL_FILE, load_model, save_model
from lcrnn.train.config import TrainConfig
from lcrnn.train.finetune import FineTuneConfig
from lcrnn.train.pretrained import shipped_model, shipped_models
from lcrnn.version import __version__

__all__ = [
    "HISTORY_FILE",
    "NotARunError",
    "TrainedModel",
    "is_run_dir",
    "load_run",
    "require_run_dir",
    "save_run",
    "weights_sha256",
]

HISTORY_FILE = "history.csv"


class NotARunError(LcrnnError, FileNotFoundError):
    """A path given as a model is not a run directory written by lcrnn."""


@dataclass
class TrainedModel:
    """A trained network with everything needed to turn raw light curves into its inputs and its outputs.

    ``galaxies`` is the fingerprint of the galaxy catalogue it was trained with
    (:func:`lcrnn.data.context.catalogue_fingerprint`: path as given, rows, hash), None when it was trained
    without one, :data:`~lcrnn.data.context.NOT_RECORDED` for a run saved before runs recorded it, or
    :data:`~lcrnn.data.context.CARRIED` for one trained on context its objects table carried.
    ``band`` is the band its light curves were read in (several read as one are joined by ``+``, as
    :func:`lcrnn.data.sequences.select_band` names them), None for a run saved before runs recorded it.
    """

    network: MixedInputRNN
    classes: tuple[str, ...]
    network_config: NetworkConfig
    train_config: TrainConfig
    context_config: ContextConfig
    scaler: FeatureScaler
    class_counts: dict[str, int] = field(default_factory=dict)
    best_epoch: int | None = None
    best_val_auc: float | None = None
    split: Split | None = None
    history: pd.DataFrame | None = None
    name: str = "lcrnn"
    lcrnn_version: str = __version__
    galaxies: dict[str, Any] | str | None = NOT_RECORDED
    band: str | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # training-time augmentations (all off)
    finetune: FineTuneConfig | None = None  # the run it started from, when it was fine-tuned
    calibration: Calibration | None = None  # fit on the validation split; None for runs saved before

    @property
    def max_len(self) -> int:
        """Observations read per light curve."""
        return self.network_config.max_len

    def config_dict(self) -> dict[str, Any]:
        """Everything inference needs, as plain JSON (``config.json``)."""
        return {
            "lcrnn_version": self.lcrnn_version,
            "name": self.name,
            "classes": list(self.classes),
            "network": self.network_config.to_dict(),
            "train": self.train_config.to_dict(),
            "context": self.context_config.to_dict(),
            **({} if self.galaxies == NOT_RECORDED else {"galaxies": self.galaxies}),
            **({} if self.band is None else {"band": self.band}),
            "augment": self.augment.to_dict(),
            "finetune": None if self.finetune is None else self.finetune.to_dict(),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "scaler": self.scaler.to_dict(),
            "class_counts": dict(self.class_counts),
            "best_epoch": self.best_epoch,
            "best_val_auc": self.best_val_auc,
            "split": None if self.split is None else self.split.to_dict(),
        }


def is_run_dir(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a saved model and its configuration."""
    path = Path(path)
    return (path / MODEL_FILE).is_file() and (path / CONFIG_FILE).is_file()


def require_run_dir(path: str | Path) -> Path:
    """``path`` as a Path when it is a run directory, or the directory of the shipped model of that name
    (``goto-sim``; a path on disk always wins), else a :class:`NotARunError` that says what to pass."""
    path = Path(path)
    if is_run_dir(path):
        return path
    shipped = None if path.exists() else shipped_model(path)
    if shipped is not None:
        return shipped
    if not path.exists():
        problem = "does not exist"
    else:
        missing = [name for name in (MODEL_FILE, CONFIG_FILE) if not (path / name).is_file()]
        problem = f"is not an lcrnn run directory (no {' or '.join(missing)} in it)"
    names = ", ".join(shipped_models()) or "none installed"
    raise NotARunError(
        f"{path} {problem}. Pass the directory that `lcrnn train --out` (or Classifier.save) wrote, or the "
        f"name of a shipped model ({names}; `lcrnn models` lists them).")


def save_run(directory: str | Path, model: TrainedModel) -> Path:
    """Write the weights, ``config.json`` and (when there is one) ``history.csv`` into ``directory``."""
    directory = save_model(directory, model.network.state_dict(), model.config_dict())
    if model.history is not None:
        model.history.to_csv(directory / HISTORY_FILE, index=False)
    return directory


def _network_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The saved network settings; runs written before ``max_len`` joined NetworkConfig kept it at the top."""
    settings = dict(config["network"])
    if "max_len" not in settings and "max_len" in config:
        settings["max_len"] = int(config["max_len"])
    return settings


# A run reading more observations per light curve than this is not one lcrnn wrote (the paper reads 30).
MAX_LEN_LIMIT = 10_000


def _refuse(path: Path, field: str, problem: str) -> InvalidConfigError:
    return InvalidConfigError(
        f"{path / CONFIG_FILE}: '{field}' {problem}; this run cannot be used. Retrain it with `lcrnn train` "
        "(or restore the run directory as `lcrnn train` / Classifier.save wrote it).")


def _checked_classes(path: Path, config: dict[str, Any]) -> tuple[str, ...]:
    classes = config["classes"]
    if (not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise _refuse(path, "classes", f"must be at least two distinct, non-empty labels, not {classes!r}")
    return tuple(classes)


def _checked_network(path: Path, config: dict[str, Any], classes: tuple[str, ...],
                     state: dict[str, Any]) -> MixedInputRNN:
    """The network of the run, refused when its settings are absurd or its weights do not fit or are not finite."""
    if not isinstance(config["network"], dict):
        raise _refuse(path, "network", f"must be a mapping of network settings, not {config['network']!r}")
    try:
        network_config = NetworkConfig.from_dict(_network_settings(config))
    except (TypeError, ValueError) as error:
        raise _refuse(path, "network", f"is not usable ({error})") from error
    if network_config.max_len > MAX_LEN_LIMIT:
        raise _refuse(path, "network.max_len", f"is {network_config.max_len}, more than {MAX_LEN_LIMIT:,}")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise InvalidConfigError(
                f"{path / MODEL_FILE}: weight tensor {name!r} holds NaN or infinite values; this run cannot "
                "be used. Retrain it with `lcrnn train` (a diverged training, or a damaged file).")
    network = MixedInputRNN(network_config, n_classes=len(classes))
    try:
        network.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or wrongly shaped tensors
        raise _refuse(path, "network", f"does not match the weights in {MODEL_FILE} ({error})") from error
    return network.eval()


def load_run(path: str | Path) -> TrainedModel:
    """Read a run directory written by :func:`save_run` (safetensors + JSON; nothing is unpickled).

    Raises
    ------
    NotARunError
        If ``path`` is not a run directory.
    InvalidConfigError
        If ``config.json`` lacks a field or holds an absurd one (classes not distinct labels, ``max_len``
        above :data:`MAX_LEN_LIMIT`, a scaler that is not finite) or the weights do not match it or are not
        finite; the message names the field or tensor.
    """
    path = require_run_dir(path)
    try:
        state, config = load_model(path)
    except (ValueError, OSError, SafetensorError) as error:  # not JSON, or not a safetensors file
        raise InvalidConfigError(
            f"{path} holds a damaged {CONFIG_FILE} or {MODEL_FILE} ({error}); retrain with `lcrnn train` or "
            "restore the run directory.") from error
    if not isinstance(config, dict):
        raise InvalidConfigError(f"{path / CONFIG_FILE} is not a JSON object; it was not written by lcrnn.")
    missing = [key for key in ("classes", "network", "context", "scaler") if key not in config]
    if missing:
        raise InvalidConfigError(
            f"{path / CONFIG_FILE} lacks {missing}; it was not written by lcrnn. Retrain with `lcrnn train`.")
    classes = _checked_classes(path, config)
    network = _checked_network(path, config, classes, state)
    try:
        scaler = FeatureScaler.from_dict(config["scaler"])
    except (TypeError, ValueError) as error:
        raise _refuse(path, "scaler", f"is not usable ({error})") from error
    history = path / HISTORY_FILE
    return TrainedModel(
        network=network,
        classes=classes,
        network_config=network.config,
        train_config=TrainConfig.from_dict(config.get("train", {})),
        context_config=ContextConfig.from_dict(config["context"]),
        scaler=scaler,
        class_counts=dict(config.get("class_counts") or {}),
        best_epoch=config.get("best_epoch"),
        best_val_auc=config.get("best_val_auc"),
        split=Split.from_dict(config["split"]) if config.get("split") else None,
        history=pd.read_csv(history) if history.is_file() else None,
        name=path.name,
        lcrnn_version=str(config.get("lcrnn_version", "unknown")),
        galaxies=config.get("galaxies", NOT_RECORDED),
        band=_checked_band(path, config),
        augment=_checked_config(path, config, "augment", AugmentConfig, AugmentConfig()),
        finetune=_checked_config(path, config, "finetune", FineTuneConfig, None),
        calibration=_checked_calibration(path, config, len(classes)),
    )


def _checked_config(path: Path, config: dict[str, Any], key: str, cls: type, absent: Any) -> Any:
    """A recorded config, or ``absent`` when there is none (a run saved before it was recorded)."""
    data = config.get(key)
    if data is None:
        return absent
    try:
        return cls.from_dict(data)
    except (TypeError, ValueError) as error:
        raise _refuse(path, key, f"is not usable ({error})") from error


def _checked_calibration(path: Path, config: dict[str, Any], n_classes: int) -> Calibration | None:
    calibration = _checked_config(path, config, "calibration", Calibration, None)
    if calibration is not None and calibration.offsets and len(calibration.offsets) != n_classes:
        raise _refuse(path, "calibration", f"has {len(calibration.offsets)} offsets for {n_classes} classes")
    return calibration


def _checked_band(path: Path, config: dict[str, Any]) -> str | None:
    band = config.get("band")
    if band is not None and (not isinstance(band, str) or not band.strip()):
        raise _refuse(path, "band", f"must be a band name such as 'r', not {band!r}")
    return band


def weights_sha256(network: Any) -> str:
    """A hash of a network's weights (every tensor of its state dict, in name order): which model this is."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
