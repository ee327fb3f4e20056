"""Stratified splits keep class proportions, are reproducible, disjoint and survive JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lcrnn.data.splits import Split, make_split, min_class_size
from lcrnn.errors import InvalidTableError


@pytest.fixture
def imbalanced():
    """An imbalanced survey in the paper's spirit: 2000 VS, 61 AGN, 23 SN, ids in scrambled order."""
    rng = np.random.default_rng(0)
    labels = np.array(["VS"] * 2000 + ["AGN"] * 61 + ["SN"] * 23)
    ids = np.array([f"GOTO{i:05d}" for i in range(len(labels))])
    order = rng.permutation(len(labels))
    return ids[order], labels[order]


def test_every_part_keeps_the_class_proportions(imbalanced):
    ids, labels = imbalanced
    split = make_split(ids, labels, seed=3)
    part = split.part_of(ids)
    for cls in np.unique(labels):
        total = (labels == cls).sum()
        n_test = ((part == "test") & (labels == cls)).sum()
        n_rest = total - n_test
        n_val = ((part == "val") & (labels == cls)).sum()
        assert abs(n_test - 0.3 * total) <= 1, cls
        assert abs(n_val - 0.3 * n_rest) <= 1, cls
        assert ((part == "train") & (labels == cls)).sum() == n_rest - n_val
    assert len(split.test) == pytest.approx(0.3 * len(ids), abs=1)
    assert len(split.val) == pytest.approx(0.3 * 0.7 * len(ids), abs=2)


def test_parts_are_disjoint_and_cover_everything(imbalanced):
    ids, labels = imbalanced
    split = make_split(ids, labels)
    train, val, test = set(split.train), set(split.val), set(split.test)
    assert not (train & val) and not (train & test) and not (val & test)
    assert train | val | test == set(ids.tolist())


def test_same_seed_same_split_other_seed_other_split(imbalanced):
    ids, labels = imbalanced
    assert make_split(ids, labels, seed=7) == make_split(ids, labels, seed=7)
    assert make_split(ids, labels, seed=7).test != make_split(ids, labels, seed=8).test


def test_round_trip_through_json(imbalanced):
    ids, labels = imbalanced
    split = make_split(ids, labels)
    d = json.loads(json.dumps(split.to_dict()))
    assert sorted(d) == ["test", "train", "val"] and all(isinstance(i, str) for i in d["val"])
    assert Split.from_dict(d) == split


def test_part_of_marks_unknown_ids_with_an_empty_string():
    split = Split(train=("a", "b"), val=("c",), test=("d",))
    assert split.part_of(["d", "zz", "a", "c"]).tolist() == ["test", "", "train", "val"]


def test_smallest_class_that_can_be_split_always_reaches_every_part():
    needed = min_class_size()
    assert needed == 8
    labels = np.array(["VS"] * 500 + [f"rare{k}" for k in range(6) for _ in range(needed)])
    ids = np.array([f"o{i}" for i in range(len(labels))])
    for seed in range(10):
        part = make_split(ids, labels, seed=seed).part_of(ids)
        for cls in np.unique(labels):
            assert {"train", "val", "test"} <= set(part[labels == cls]), (seed, cls)


def test_too_small_a_class_says_how_many_it_needs(imbalanced):
    ids, labels = imbalanced
    labels = labels.copy()
    labels[np.flatnonzero(labels == "SN")[3:]] = "VS"  # keep only 3 SN
    with pytest.raises(InvalidTableError, match=r"'SN' has 3.*at least 8"):
        make_split(ids, labels)


def test_bad_inputs_raise(imbalanced):
    ids, labels = imbalanced
    with pytest.raises(InvalidTableError, match="one label per object"):
        make_split(ids, labels[:-1])
    with pytest.raises(InvalidTableError, match="repeat"):
        make_split(np.concatenate([ids, ids[:1]]), np.concatenate([labels, labels[:1]]))
    with pytest.raises(InvalidTableError, match="no label"):
        make_split(ids, np.where(np.arange(len(ids)) == 5, None, labels).astype(object))
    with pytest.raises(ValueError, match="test_fraction"):
        make_split(ids, labels, test_fraction=1.2)
    with pytest.raises(ValueError, match="disjoint"):
        Split(train=("a",), val=("a",), test=())
    with pytest.raises(ValueError, match="keys"):
        Split.from_dict({"train": [], "test": []})
