"""Fine-tuning: training that starts from a trained run's weights, architecture, classes and (by choice) scaler."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from lcrnn.classifier import Classifier, KeptEpochWarning
from lcrnn.cli import app
from lcrnn.data.io import write_survey
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.tables import Survey
from lcrnn.errors import InvalidConfigError, InvalidTableError
from lcrnn.model.inference import SequenceTensors, predict_logits
from lcrnn.model.losses import make_loss
from lcrnn.train.checkpoint import STATE_FILE
from lcrnn.train.finetune import recurrent_branch
from lcrnn.train.run_dir import load_run, weights_sha256

SMALL = dict(batch_size=32, device="cpu", progress=False)
RECURRENT = ("rnn1.", "bn1.", "rnn2.", "bn2.")


@pytest.fixture(scope="module")
def pretrained(toy_survey_factory, tmp_path_factory):
    """A small run trained on one toy survey (seed 0), saved."""
    photometry, objects, galaxies = toy_survey_factory(seed=0)
    clf = Classifier(hidden=8, dense=8, epochs=3, lr=1e-2, **SMALL).fit(photometry, objects, galaxies)
    return clf.save(tmp_path_factory.mktemp("runs") / "pretrained")


@pytest.fixture(scope="module")
def new_data(toy_survey_factory):
    """Another survey of the same classes, with another class balance: the data to fine-tune on."""
    return toy_survey_factory(n_per_class={"VS": 60, "SN": 90, "AGN": 50}, seed=11)


def _parts(clf, tables, part):
    seqs = clf.prepare(*tables)
    return seqs.subset(np.flatnonzero(clf.split_.part_of(seqs.object_ids) == part))


def test_the_first_row_is_the_pretrained_model_scored_on_the_new_validation_data(pretrained, new_data):
    tuned = Classifier(epochs=2, lr=1e-3, **SMALL).fit(*new_data, init=pretrained)
    assert tuned.network_config_ == load_run(pretrained).network_config  # hidden 8 / dense 8, from the run
    assert list(tuned.history_["epoch"]) == [0, 1, 2] and np.isnan(tuned.history_["train_loss"].iloc[0])
    # The pretrained classifier, on its own, on the new validation part, with the new data's class weights.
    start = Classifier.load(pretrained)
    val = _parts(tuned, new_data, "val")
    scaled = SequenceTensors.from_set(start.scaler_.transform(val), torch.device("cpu"))
    logits = predict_logits(start.network_, scaled)  # logits: whatever probabilities the classifier reports
    counts = list(tuned.class_counts_.values())
    assert counts == [len(_parts(tuned, new_data, "train").labels[_parts(tuned, new_data, "train").labels == i])
                      for i in range(3)]
    with torch.no_grad():
        loss = make_loss("focal", counts, gamma=2.0)(logits, torch.as_tensor(val.labels))
        loss = float(loss + start.network_.l2_penalty())
    assert float(tuned.history_["val_loss"].iloc[0]) == pytest.approx(loss, rel=1e-5)
    recorded = tuned.finetune_
    assert recorded.init == str(pretrained) and recorded.scaler == "keep"
    assert recorded.init_sha256 == weights_sha256(start.network_)


def test_recurrent_layers_stay_frozen_for_k_epochs_then_learn(pretrained, new_data, tmp_path):
    start = load_run(pretrained).network.state_dict()
    checkpoint = tmp_path / "checkpoint"

    def last_epoch_weights(epochs):
        Classifier(epochs=epochs, lr=1e-2, freeze_rnn_epochs=2, **SMALL).fit(*new_data, init=pretrained,
                                                                            checkpoint_dir=checkpoint)
        tensors = load_file(str(checkpoint / STATE_FILE))
        return {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}

    after_two = last_epoch_weights(2)
    for name, value in start.items():
        frozen = name.startswith(RECURRENT)
        assert torch.equal(after_two[name], value) == frozen, name  # running BN statistics included
    after_three = last_epoch_weights(3)  # resumes at epoch 3, where the recurrent layers are released
    assert not torch.equal(after_three["rnn1.weight_hh_l0"], start["rnn1.weight_hh_l0"])
    assert not torch.equal(after_three["bn2.running_mean"], start["bn2.running_mean"])
    assert [type(m).__name__ for m in recurrent_branch(load_run(pretrained).network)] == [
        "GRU", "BatchNorm1d", "GRU", "BatchNorm1d"]


def test_the_scaler_is_kept_or_refitted_as_asked(pretrained, new_data):
    kept = Classifier(epochs=1, **SMALL).fit(*new_data, init=pretrained)
    assert kept.scaler_.to_dict() == load_run(pretrained).scaler.to_dict()
    refit = Classifier(epochs=1, **SMALL).fit(*new_data, init=pretrained, scaler="refit")
    raw_train = _parts(refit, new_data, "train")
    assert refit.scaler_.to_dict() == FeatureScaler().fit(raw_train).to_dict()
    assert refit.scaler_.to_dict() != kept.scaler_.to_dict() and refit.finetune_.scaler == "refit"
    with pytest.raises(InvalidConfigError, match="scaler must be 'keep' or 'refit'"):
        Classifier(epochs=1, **SMALL).fit(*new_data, init=pretrained, scaler="fresh")


def test_other_classes_or_another_network_are_errors_naming_them(pretrained, toy_survey_factory, new_data):
    two_classes = toy_survey_factory(n_per_class={"VS": 60, "SN": 60}, seed=2)
    with pytest.raises(InvalidTableError, match=r"\['VS', 'SN', 'AGN'\].*\['VS', 'SN'\]"):
        Classifier(epochs=1, **SMALL).fit(*two_classes, init=pretrained)
    with pytest.raises(InvalidConfigError, match=r"rnn='lstm' \(run: 'gru'\), hidden=32 \(run: 8\)"):
        Classifier(hidden=32, rnn="lstm", epochs=1, **SMALL).fit(*new_data, init=pretrained)
    with pytest.raises(InvalidConfigError, match="freeze_rnn_epochs=2 holds pretrained recurrent layers"):
        Classifier(freeze_rnn_epochs=2, epochs=1, **SMALL).fit(*new_data)


def test_a_fine_tuned_run_saves_and_reloads_its_settings(pretrained, new_data, tmp_path):
    tuned = Classifier(epochs=2, lr=1e-3, freeze_rnn_epochs=1, prefix=0.5, **SMALL).fit(
        *new_data, init=pretrained, scaler="refit")
    path = tuned.save(tmp_path / "tuned")
    config = json.loads((path / "config.json").read_text())
    assert config["finetune"] == {"init": str(pretrained), "init_sha256": tuned.finetune_.init_sha256,
                                  "scaler": "refit"}
    assert config["train"]["freeze_rnn_epochs"] == 1 and config["augment"]["prefix"] == 0.5
    loaded = load_run(path)
    assert loaded.finetune == tuned.finetune_ and loaded.train_config.freeze_rnn_epochs == 1
    assert list(loaded.history["epoch"]) == [0, 1, 2]
    np.testing.assert_array_equal(Classifier.load(path).predict_proba(*new_data).iloc[:, 1:].to_numpy(),
                                  tuned.predict_proba(*new_data).iloc[:, 1:].to_numpy())
    # A fine-tuned run is itself a start.
    again = Classifier(epochs=1, **SMALL).fit(*new_data, init=path)
    assert again.finetune_.init_sha256 == weights_sha256(loaded.network)


def test_a_run_saved_before_these_settings_still_loads(pretrained, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.safetensors").write_bytes((pretrained / "model.safetensors").read_bytes())
    config = json.loads((pretrained / "config.json").read_text())
    del config["augment"], config["finetune"], config["train"]["freeze_rnn_epochs"]
    (old / "config.json").write_text(json.dumps(config))
    run = load_run(old)
    assert run.finetune is None and not run.augment.active and run.train_config.freeze_rnn_epochs == 0
    config["finetune"] = {"init": "x", "init_sha256": "short"}
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidConfigError, match="'finetune' is not usable"):
        load_run(old)


def test_the_kept_epoch_is_marked_and_a_last_one_is_warned_about(new_data):
    with pytest.warns(KeptEpochWarning, match=r"the kept epoch is the last one \(3\)"):
        clf = Classifier(hidden=8, dense=8, epochs=3, lr=1e-2, **SMALL).fit(*new_data)
    assert clf.history_["kept"].tolist() == [False, False, True] and clf.fit_note_.startswith("the kept epoch")


runner = CliRunner()


def test_lcrnn_train_fine_tunes_with_the_robust_options(pretrained, new_data, tmp_path, plain_output):
    data = tmp_path / "survey"
    write_survey(Survey(*new_data), data)
    out = tmp_path / "tuned"
    common = ["train", "--data", str(data), "--init", str(pretrained), "--epochs", "2", "--batch-size", "32",
              "--device", "cpu"]
    refused = runner.invoke(app, [*common, "--out", str(out), "--hidden", "150", "--rnn", "gru"])
    assert refused.exit_code == 2
    assert "--hidden (the run has hidden=8)" in plain_output(refused) and "--rnn" not in plain_output(refused)
    without_init = runner.invoke(app, ["train", "--data", str(data), "--out", str(out), "--freeze-rnn-epochs", "2"])
    assert without_init.exit_code == 2
    assert "--freeze-rnn-epochs applies when fine-tuning; add --init RUN" in plain_output(without_init)
    result = runner.invoke(app, [*common, "--out", str(out), "--hidden", "8", "--freeze-rnn-epochs", "1",
                                 "--scaler", "refit", "--robust", "--mag-offset", "0.5", "--noise-scale", "3",
                                 "--lr", "1e-3"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["finetune"]["init"] == str(pretrained) and config["finetune"]["scaler"] == "refit"
    assert config["train"]["freeze_rnn_epochs"] == 1 and config["train"]["lr"] == 1e-3
    assert config["augment"]["mag_offset"] == 0.5 and config["augment"]["prefix"] == 0.5  # --robust, overridden
    assert config["augment"]["noise_scale"] == 3.0
    assert config["network"]["hidden"] == 8
    # This run's validation loss still fell at its last epoch: said once, after the summary line.
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == 2
    assert plain_output(result).endswith("warning: the kept epoch is the last one (2): the validation score was "
                                         "still improving, so the model may be undertrained; train for more epochs "
                                         "(early stopping ends a run once it stops improving)")
    assert plain_output(result).count("kept epoch") == 1
