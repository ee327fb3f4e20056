"""The run directory: one writer, one recogniser, one loader for every route that reads a model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lcrnn.classifier import Classifier
from lcrnn.errors import InvalidConfigError
from lcrnn.train.run_dir import NotARunError, is_run_dir, load_run, require_run_dir


@pytest.fixture(scope="module")
def saved(toy_survey_factory, tmp_path_factory):
    photometry, objects, galaxies = toy_survey_factory()
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=32, device="cpu", progress=False)
    clf.fit(photometry, objects, galaxies)
    path = clf.save(tmp_path_factory.mktemp("runs") / "tiny")
    return path, clf, (photometry, objects, galaxies)


def test_a_saved_run_is_recognised_and_named_by_its_directory(saved, tmp_path):
    path, clf, _ = saved
    assert is_run_dir(path) and not is_run_dir(tmp_path)
    assert clf.name == "tiny" and load_run(path).name == "tiny"
    with pytest.raises(NotARunError, match="does not exist"):
        require_run_dir(tmp_path / "missing")
    with pytest.raises(NotARunError, match=r"no model\.safetensors or config\.json"):
        require_run_dir(tmp_path)


def test_load_run_gives_the_classifier_the_same_numbers(saved):
    path, clf, tables = saved
    loaded = Classifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(*tables).iloc[:, 1:].to_numpy(),
                                  clf.predict_proba(*tables).iloc[:, 1:].to_numpy())
    assert loaded.network == clf.network and loaded.train.epochs == 1
    assert load_run(path).scaler.to_dict() == clf.scaler_.to_dict()


def test_a_run_written_before_max_len_joined_the_network_config_still_loads(saved, tmp_path):
    path, _, _ = saved
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    config = json.loads((path / "config.json").read_text())
    config["max_len"] = config["network"].pop("max_len")
    config["max_len"] = 12
    (old / "config.json").write_text(json.dumps(config))
    assert load_run(old).max_len == 12


@pytest.mark.parametrize("section", ["network", "train", "context"])
def test_an_unknown_saved_setting_is_one_clear_error(saved, tmp_path, section):
    path, _, _ = saved
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    config = json.loads((path / "config.json").read_text())
    config[section]["hiden"] = 3
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidConfigError, match=r"Unknown \w+Config setting\(s\) \['hiden'\]"):
        load_run(bad)
