"""Stratified train / validation / test split, recorded by object id.

Paper section 4: 70 % of the objects for training and 30 % for testing; 30 % of the training part is then set
aside for validation; every part keeps the class proportions of the whole. With classes as rare as the
paper's supernovae (0.2 %), stratification is what guarantees that every part sees every class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lcrnn.errors import InvalidTableError

__all__ = ["PARTS", "Split", "make_split", "min_class_size"]

PARTS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Which objects are used for training, validation and testing.

    Attributes
    ----------
    train, val, test : tuple of str
        Object ids of each part, sorted; the parts are disjoint.
    """

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        for part in PARTS:
            object.__setattr__(self, part, tuple(str(i) for i in getattr(self, part)))
        seen: dict[str, str] = {}
        for part in PARTS:
            for object_id in getattr(self, part):
                if object_id in seen:
                    where = "twice in" if seen[object_id] == part else f"in both {seen[object_id]} and"
                    raise ValueError(
                        f"Object {object_id!r} is {where} {part}; the parts of a split must be disjoint."
                    )
                seen[object_id] = part

    def part_of(self, object_ids: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
        """The part each of ``object_ids`` belongs to.

        Parameters
        ----------
        object_ids
            Ids to look up, e.g. ``SequenceSet.object_ids``.

        Returns
        -------
        numpy.ndarray of str
            ``"train"``, ``"val"``, ``"test"``, or ``""`` for ids in no part. Select with
            ``seqs.subset(split.part_of(seqs.object_ids) == "train")``.
        """
        all_ids = pd.Index(self.train + self.val + self.test)
        names = np.repeat(np.array(PARTS + ("",)), [len(self.train), len(self.val), len(self.test), 1])
        position = all_ids.get_indexer(np.asarray(object_ids, dtype=str))
        return names[position]  # position -1 picks the trailing "" for unknown ids

    def to_dict(self) -> dict[str, list[str]]:
        """``{"train": [...], "val": [...], "test": [...]}`` of plain strings, for JSON."""
        return {part: list(getattr(self, part)) for part in PARTS}

    @classmethod
    def from_dict(cls, d: Mapping[str, Sequence[str]]) -> Split:
        """Rebuild a split written by :meth:`to_dict`."""
        missing = [p for p in PARTS if p not in d]
        unknown = sorted(set(d) - set(PARTS))
        if missing or unknown:
            raise ValueError(
                f"A split dictionary needs exactly the keys {list(PARTS)}; missing {missing}, unknown {unknown}."
            )
        return cls(**{part: tuple(d[part]) for part in PARTS})


def _part_fractions(test_fraction: float, val_fraction: float) -> tuple[float, float, float]:
    return ((1 - test_fraction) * (1 - val_fraction), (1 - test_fraction) * val_fraction, test_fraction)


def min_class_size(test_fraction: float = 0.3, val_fraction: float = 0.3) -> int:
    """Smallest class that :func:`make_split` can spread over all three parts, whatever the other classes.

    scikit-learn gives each class the floor or the ceiling of its share of a part, plus at most one more when
    it hands out the remainder, so we ask for the size at which even the worst rounding leaves one member of
    every class in every part (8 for the paper's fractions).

    Parameters
    ----------
    test_fraction, val_fraction
        As in :func:`make_split`.

    Returns
    -------
    int
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    for k in range(2, 100_000):
        test_min = math.floor(test_fraction * k)
        test_max = math.ceil(test_fraction * k) + 1
        rest_min, rest_max = k - test_max, k - test_min
        val_min = math.floor(val_fraction * rest_min)
        val_max = math.ceil(val_fraction * rest_max) + 1
        if test_min >= 1 and val_min >= 1 and rest_min - val_max >= 1:
            return k
    raise ValueError(f"Fractions test={test_fraction}, val={val_fraction} leave a part (almost) empty.")


def _check_fraction(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
        raise ValueError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}.")


def _class_name(label: str, classes: tuple[str, ...] | None) -> str:
    """A label as the user knows it: the class name when ``label`` is an index into ``classes``."""
    label = str(label)
    if classes is not None and label.isdigit() and int(label) < len(classes):
        return classes[int(label)]
    return label


def make_split(
    object_ids: Sequence[str] | np.ndarray | pd.Series,
    labels: Sequence[Any] | np.ndarray | pd.Series,
    seed: int = 0,
    test_fraction: float = 0.3,
    val_fraction: float = 0.3,
    classes: Sequence[str] | None = None,
) -> Split:
    """Stratified, seeded train / validation / test split (paper section 4).

    First ``test_fraction`` of the objects go to the test part, then ``val_fraction`` of the rest to the
    validation part; each part keeps the class proportions of the whole to within one object per class.

    Parameters
    ----------
    object_ids
        Distinct object ids.
    labels
        Class of each object, in the same order (strings or integers).
    seed
        Seed of the shuffles: the same inputs and seed give the same split.
    test_fraction
        Share of all objects in the test part (paper: 0.3).
    val_fraction
        Share of the non-test objects in the validation part (paper: 0.3).
    classes
        Class names in label-index order, when ``labels`` are integer indices: messages then name classes
        by label ("'SN' has 2"), not by index.

    Returns
    -------
    Split

    Raises
    ------
    InvalidTableError
        If ids repeat, labels are missing or their count differs, or a class is too small to appear in every
        part (the message says how many members it needs; see :func:`min_class_size`).
    """
    _check_fraction("test_fraction", test_fraction)
    _check_fraction("val_fraction", val_fraction)
    ids = np.asarray(object_ids, dtype=str)
    y = np.asarray(labels)
    if ids.ndim != 1 or y.shape != ids.shape:
        raise InvalidTableError(f"Got {y.size} labels for {ids.size} object ids; give one label per object.")
    if pd.isna(y).any():
        raise InvalidTableError(
            f"{int(pd.isna(y).sum())} object(s) have no label ({', '.join(ids[pd.isna(y)][:5])}); "
            "label them or leave them out of the split."
        )
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise InvalidTableError(
            f"{int(dup.sum())} object id(s) repeat ({', '.join(np.unique(ids[dup])[:5])}); ids must be distinct."
        )
    names = None if classes is None else tuple(str(c) for c in classes)
    y = y.astype(str)
    needed = min_class_size(test_fraction, val_fraction)
    present, counts = np.unique(y, return_counts=True)
    small = counts < needed
    if small.any():
        listing = ", ".join(f"{_class_name(c, names)!r} has {int(n)}"
                            for c, n in zip(present[small], counts[small]))
        raise InvalidTableError(
            f"Too few objects to stratify: {listing}; each class needs at least {needed} to appear in the "
            f"train, val and test parts (test_fraction={test_fraction}, val_fraction={val_fraction}). "
            "Label more objects of that class, merge it into another, or drop it."
        )

    rest, test, y_rest, _ = train_test_split(ids, y, test_size=test_fraction, stratify=y, random_state=seed)
    # A different stream for the second cut, so the two shuffles are not the same permutation.
    train, val = train_test_split(rest, test_size=val_fraction, stratify=y_rest, random_state=seed + 1)
    return Split(train=tuple(sorted(train)), val=tuple(sorted(val)), test=tuple(sorted(test)))
