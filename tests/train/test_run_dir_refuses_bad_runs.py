"""A run whose weights, scaler or config cannot be right is refused at load, naming the field; labels are checked
at fit, naming them."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from lcrnn.classifier import Classifier
from lcrnn.errors import InvalidConfigError, InvalidTableError
from lcrnn.train.run_dir import load_run


@pytest.fixture(scope="module")
def saved(toy_survey_factory, tmp_path_factory):
    photometry, objects, galaxies = toy_survey_factory()
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=32, device="cpu", progress=False)
    clf.fit(photometry, objects, galaxies)
    return clf.save(tmp_path_factory.mktemp("runs") / "tiny")


def _copy(saved, tmp_path, edit_config=None, edit_weights=None):
    bad = tmp_path / "bad"
    shutil.copytree(saved, bad)
    if edit_config is not None:
        config = json.loads((bad / "config.json").read_text())
        edit_config(config)
        (bad / "config.json").write_text(json.dumps(config))
    if edit_weights is not None:
        state = load_file(str(bad / "model.safetensors"))
        edit_weights(state)
        save_file(state, str(bad / "model.safetensors"))
    return bad


def test_nan_weights_are_refused_at_load_naming_the_tensor(saved, tmp_path):
    def poison(state):
        name = sorted(state)[0]
        state[name] = torch.full_like(state[name], math.nan)

    bad = _copy(saved, tmp_path, edit_weights=poison)
    name = sorted(load_file(str(bad / "model.safetensors")))[0]
    with pytest.raises(InvalidConfigError, match=rf"weight tensor '{name}' holds NaN or infinite values"):
        load_run(bad)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c.pop("classes"), r"lacks \['classes'\]"),
        (lambda c: c.update(classes=["VS", "VS", "AGN"]), r"'classes' must be at least two distinct"),
        (lambda c: c["network"].update(max_len=10**12), r"'network.max_len' is 1000000000000, more than 10,000"),
        (lambda c: c["network"].update(hidden=9), r"'network' does not match the weights"),
        (lambda c: c["scaler"].update(mean=[math.nan] * len(c["scaler"]["mean"])), r"'scaler' is not usable"),
    ],
    ids=["no-classes", "repeated-classes", "absurd-max-len", "shapes", "nan-scaler"],
)
def test_an_incomplete_or_absurd_config_is_refused_at_load_naming_the_field(saved, tmp_path, edit, field):
    with pytest.raises(InvalidConfigError, match=field):
        load_run(_copy(saved, tmp_path, edit_config=edit))


def test_a_stray_label_is_refused_naming_it_and_how_to_map_it(toy_survey):
    photometry, objects, galaxies = toy_survey
    stray = objects.copy()
    stray.loc[:2, "label"] = "XRB"
    clf = Classifier(hidden=8, dense=8, epochs=1, device="cpu", progress=False)
    with pytest.raises(InvalidTableError, match=r"labels outside the classes \['VS', 'SN', 'AGN'\].*'XRB' "
                                                r"\(3 objects\).*--mapping.*--classes VS,SN,AGN,XRB"):
        clf.fit(photometry, stray, galaxies)
    clf.fit(photometry, stray, galaxies, on_invalid="drop")
    assert clf.classes_ == ("VS", "SN", "AGN") and sum(clf.class_counts_.values()) < len(objects)


def test_the_classes_given_are_the_classes_trained_on(toy_survey):
    photometry, objects, galaxies = toy_survey
    renamed = objects.assign(label=objects["label"].map({"VS": "star", "SN": "SN", "AGN": "AGN"}))
    clf = Classifier(hidden=8, dense=8, epochs=1, device="cpu", progress=False)
    with pytest.raises(InvalidTableError, match=r"'star' \(120 objects\)"):
        clf.fit(photometry, renamed, galaxies)
    clf.fit(photometry, renamed, galaxies, classes=["AGN", "SN", "star"])
    assert clf.classes_ == ("AGN", "SN", "star")
