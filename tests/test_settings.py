"""One configuration: NetworkConfig and TrainConfig are the single source, read back by one strict rule."""

from __future__ import annotations

import pytest

from lcrnn.classifier import Classifier
from lcrnn.errors import InvalidConfigError
from lcrnn.model.config import NetworkConfig
from lcrnn.train.config import TrainConfig


def test_the_classifier_takes_configs_or_their_fields_as_shorthands():
    explicit = Classifier(network=NetworkConfig(rnn="lstm", hidden=100), train=TrainConfig(epochs=3, lr=1e-3))
    shorthand = Classifier(rnn="lstm", hidden=100, epochs=3, lr=1e-3)
    assert explicit.network == shorthand.network and explicit.train == shorthand.train
    mixed = Classifier(network=NetworkConfig(hidden=100), rnn="lstm")
    assert mixed.network == NetworkConfig(rnn="lstm", hidden=100)
    assert (shorthand.rnn, shorthand.epochs, shorthand.max_len) == ("lstm", 3, NetworkConfig.max_len)


def test_defaults_come_from_the_configs():
    clf = Classifier()
    assert clf.network == NetworkConfig() and clf.train == TrainConfig()


def test_an_unknown_shorthand_names_the_known_settings():
    with pytest.raises(InvalidConfigError, match=r"unknown setting\(s\) \['hiden'\].*'hidden'"):
        Classifier(hiden=3)


@pytest.mark.parametrize("config", [NetworkConfig, TrainConfig])
def test_every_config_refuses_an_unknown_key_the_same_way(config):
    assert config.from_dict(config().to_dict()) == config()
    with pytest.raises(InvalidConfigError, match=rf"Unknown {config.__name__} setting\(s\) \['typo'\]"):
        config.from_dict({**config().to_dict(), "typo": 1})


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"lr": -1.0}, {"batch_size": 2.5}, {"early_stopping": 0},
                                 {"loss": "hinge"}, {"select_by": "val_f1"}])
def test_train_config_refuses_values_it_cannot_use(bad):
    with pytest.raises(InvalidConfigError):
        TrainConfig(**bad)


def test_an_unfitted_classifier_says_so():
    with pytest.raises(AttributeError, match="not fitted"):
        Classifier().classes_
