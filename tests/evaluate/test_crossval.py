"""Folds partition the objects, keep class proportions, and copies never cross from test into training."""

from __future__ import annotations

import numpy as np
import pytest

from lcrnn.data.splits import Split
from lcrnn.errors import InvalidTableError
from lcrnn.evaluate.crossval import add_copies, fold_splits, summarize_folds
from lcrnn.evaluate.metrics import classification_metrics


@pytest.fixture
def imbalanced():
    ids = np.array([f"o{i:03d}" for i in range(130)])
    labels = np.array(["VS"] * 100 + ["SN"] * 10 + ["AGN"] * 20)
    return ids, labels


def test_test_parts_partition_the_objects_and_parts_are_disjoint(imbalanced):
    ids, labels = imbalanced
    splits = fold_splits(ids, labels, n_folds=5, val_fraction=0.25, seed=3)
    assert len(splits) == 5
    tested = np.concatenate([s.test for s in splits])
    assert sorted(tested) == sorted(ids)  # every object tested exactly once
    for s in splits:
        assert len(s.train) + len(s.val) + len(s.test) == ids.size
        assert not set(s.test) & (set(s.train) | set(s.val))


def test_every_fold_keeps_the_class_proportions(imbalanced):
    ids, labels = imbalanced
    label_of = dict(zip(ids, labels, strict=True))
    for s in fold_splits(ids, labels, n_folds=5, seed=0):
        test_labels = [label_of[i] for i in s.test]
        assert (
            test_labels.count("SN") == 2 and test_labels.count("AGN") == 4 and test_labels.count("VS") == 20
        )
        val_labels = [label_of[i] for i in s.val]
        assert {"VS", "SN", "AGN"} <= set(val_labels)  # model selection sees every class


def test_folds_repeat_with_the_seed_and_change_without_it(imbalanced):
    ids, labels = imbalanced
    assert fold_splits(ids, labels, seed=1) == fold_splits(ids, labels, seed=1)
    assert fold_splits(ids, labels, seed=1)[0].test != fold_splits(ids, labels, seed=2)[0].test


def test_a_class_smaller_than_the_folds_is_refused(imbalanced):
    ids, labels = imbalanced
    labels = labels.copy()
    labels[:3] = "rare"
    with pytest.raises(InvalidTableError, match="fewer objects than the 5 folds"):
        fold_splits(ids, labels, n_folds=5)


def test_repeated_ids_are_refused(imbalanced):
    ids, labels = imbalanced
    ids = ids.copy()
    ids[1] = ids[0]
    with pytest.raises(InvalidTableError, match="repeat"):
        fold_splits(ids, labels)


def test_copies_follow_their_parent_into_training_only():
    split = Split(train=("a", "b"), val=("c",), test=("d",))
    grown = add_copies(split, ["a~aug0", "c~aug0", "d~aug0", "d~aug1"], ["a", "c", "d", "d"])
    assert grown.train == ("a", "a~aug0", "b")
    assert grown.val == ("c",) and grown.test == ("d",)  # no copy of a test or validation object
    both = add_copies(split, ["a~aug0", "c~aug0"], ["a", "c"], parts=("train", "val"))
    assert both.val == ("c", "c~aug0")
    with pytest.raises(InvalidTableError, match="unknown part"):
        add_copies(split, ["a~aug0"], ["a"], parts=("training",))


def test_summary_of_folds_matches_hand_computed_numbers():
    classes = ["VS", "SN", "AGN"]
    perfect = classification_metrics(
        np.array([0, 0, 1, 2]),
        np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]),
        classes,
    )
    # one VS taken for SN, one SN for AGN: recall VS 1/2, SN 1/2, AGN 1
    flawed = classification_metrics(
        np.array([0, 0, 1, 1, 2]),
        np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.1, 0.1, 0.8]]),
        classes,
    )
    summary = summarize_folds([perfect, flawed])
    assert summary["n_folds"] == 2
    aucs = [perfect["auc_hand_till"], flawed["auc_hand_till"]]
    assert aucs[0] == pytest.approx(1.0) and aucs[1] < 1.0
    assert summary["auc_hand_till"]["mean"] == pytest.approx(np.mean(aucs))
    assert summary["auc_hand_till"]["std"] == pytest.approx(np.std(aucs, ddof=1))
    assert summary["recall"]["VS"]["mean"] == pytest.approx((1.0 + 0.5) / 2)
    assert summary["recall"]["SN"]["min"] == pytest.approx(0.5)
    assert summary["recall"]["AGN"]["std"] == pytest.approx(0.0)
    assert summary["confusion"] == [[3, 1, 0], [0, 2, 1], [0, 0, 2]]  # summed: every object tested once


def test_summary_refuses_folds_scored_with_other_classes():
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    a = classification_metrics(np.array([0, 1, 2]), proba, ["VS", "SN", "AGN"])
    b = classification_metrics(np.array([0, 1, 2]), proba, ["VS", "AGN", "SN"])
    with pytest.raises(InvalidTableError, match="different classes"):
        summarize_folds([a, b])
