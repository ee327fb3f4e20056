"""Folding catalogue object types into lcrnn's super-classes (paper section 2.2), as an editable mapping.

The paper folded the hundreds of types of the catalogues it matched (the AAVSO variable star index, the
Veron quasar catalogue, the Transient Name Server) into three super-classes, VS, SN and AGN. Here the
folding lives in a mapping file (``label_maps/default.json``) read by :func:`load_label_map` into a
:class:`LabelMap`, whose :meth:`LabelMap.classify` also reads uncertain (``"SN?"``) and composite
(``"EA/RS"``) types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.errors import InvalidTableError

__all__ = ["LabelMap", "TypeMatch", "load_label_map"]

_WHITESPACE = re.compile(r"\s+")


def _normalise(raw: Any) -> str:
    """Type strings compared with surrounding space removed and inner runs of space collapsed."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or raw is pd.NA:
        return ""
    return _WHITESPACE.sub(" ", str(raw)).strip()


@dataclass(frozen=True)
class TypeMatch:
    """How one catalogue type folds into a super-class.

    Parameters
    ----------
    label : str or None
        The super-class, or None when the type is left unlabelled.
    uncertain : bool
        Whether the catalogue flagged the type as uncertain (``"SN?"``, ``"EA:"``).
    reason : str
        ``"mapped"``, ``"untyped"`` (a candidate or unknown), ``"unknown"`` (not in the mapping) or
        ``"ambiguous"`` (a composite whose parts name different classes, e.g. ``"SN/CV"``).
    """

    label: str | None
    uncertain: bool = False
    reason: str = "mapped"


@dataclass(frozen=True)
class LabelMap:
    """An editable folding of catalogue object types into super-classes; build it with :func:`load_label_map`.

    Parameters
    ----------
    classes : tuple of str
        The super-classes, e.g. ``("VS", "SN", "AGN")``.
    exact : mapping of str to str
        Type string (whitespace-normalised, case kept) to class.
    caseless : mapping of str to str or None
        Lower-cased type to class, None where two classes share it case-insensitively (``IA`` vs ``Ia``).
    patterns : tuple of (compiled regex, class)
        Tried in order after the exact lookups.
    untyped : frozenset of str
        Lower-cased types that mean "no class" (``Candidate``, ``Unknown``).
    modifiers : frozenset of str
        Parts of composite types that carry no class (``BL`` in ``RRAB/BL`` is the Blazhko effect).
    uncertain_markers : tuple of str
        Suffixes that flag an uncertain type.
    separators : tuple of str
        Characters that join the parts of a composite type.
    """

    classes: tuple[str, ...]
    exact: Mapping[str, str]
    caseless: Mapping[str, str | None]
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    untyped: frozenset[str]
    modifiers: frozenset[str]
    uncertain_markers: tuple[str, ...] = ("?", ":")
    separators: tuple[str, ...] = ("/", "|", "+")

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], source: str = "mapping") -> LabelMap:
        """Build from the parsed mapping file (see ``label_maps/default.json`` for the layout)."""
        try:
            types: Mapping[str, Sequence[str]] = spec["types"]
        except (KeyError, TypeError):
            raise InvalidTableError(
                f"{source} has no 'types' object; it must map each class to a list of catalogue types, "
                'e.g. {"types": {"VS": ["EA", "RRAB"], "SN": ["SN Ia"], "AGN": ["QSO"]}}.'
            ) from None
        classes = tuple(str(c) for c in spec.get("classes", types.keys()))
        unknown = sorted(set(types) - set(classes)) + sorted(set(spec.get("patterns", {})) - set(classes))
        if unknown:
            raise InvalidTableError(
                f"{source} maps types to {', '.join(unknown)}, which are not in its 'classes' "
                f"({', '.join(classes)}); add them to 'classes' or fix the spelling."
            )
        exact: dict[str, str] = {}
        caseless: dict[str, str | None] = {}
        for label, names in types.items():
            for name in names:
                key = _normalise(name)
                if exact.get(key, label) != label:
                    raise InvalidTableError(
                        f"{source} lists type {name!r} under both {exact[key]!r} and {label!r}; keep one."
                    )
                exact[key] = label
                low = key.lower()
                caseless[low] = label if caseless.get(low, label) == label else None
        patterns = []
        for label, entries in spec.get("patterns", {}).items():
            for entry in entries:
                flags = re.IGNORECASE if entry.get("ignore_case", True) else 0
                try:
                    patterns.append((re.compile(entry["regex"], flags), str(label)))
                except (KeyError, re.error) as exc:
                    raise InvalidTableError(f"{source}: bad pattern {entry!r} for {label!r} ({exc}).") from None
        return cls(
            classes=classes,
            exact=exact,
            caseless=caseless,
            patterns=tuple(patterns),
            untyped=frozenset(_normalise(t).lower() for t in spec.get("untyped", ())),
            modifiers=frozenset(_normalise(t).lower() for t in spec.get("modifiers", ())),
            uncertain_markers=tuple(spec.get("uncertain_markers", ("?", ":"))),
            separators=tuple(spec.get("composite_separators", ("/", "|", "+"))),
        )

    def _whole(self, key: str) -> str | None:
        if key in self.exact:
            return self.exact[key]
        if key.lower() in self.caseless:
            return self.caseless[key.lower()]  # None when the type is ambiguous without its case
        for pattern, label in self.patterns:
            if pattern.fullmatch(key):
                return label
        return None

    def classify(self, raw_type: Any) -> TypeMatch:
        """Fold one catalogue type into a super-class.

        Parameters
        ----------
        raw_type : str
            The type as the catalogue spells it, e.g. ``"RRAB"``, ``"SN Ia"``, ``"Blazar?"``, ``"EA/RS"``.

        Returns
        -------
        TypeMatch
            The class (or None) with the uncertainty flag and the reason.
        """
        key = _normalise(raw_type)
        if key.lower() in self.untyped:
            return TypeMatch(None, reason="untyped")
        label = self._whole(key)
        if label is not None:
            return TypeMatch(label)
        if key not in self.exact and self.caseless.get(key.lower(), "") is None:
            return TypeMatch(None, reason="ambiguous")  # e.g. 'ia': GCVS 'IA' or supernova 'Ia'?
        for marker in self.uncertain_markers:
            if key.endswith(marker) and len(key) > len(marker):
                inner = self.classify(key[: -len(marker)])
                return TypeMatch(inner.label, True, inner.reason) if inner.reason != "untyped" else inner
        pieces = [key]
        for sep in self.separators:
            pieces = [p for piece in pieces for p in piece.split(sep)]
        pieces = [p.strip() for p in pieces if p.strip() and p.strip().lower() not in self.modifiers]
        if len(pieces) > 1 or (len(pieces) == 1 and pieces[0] != key):
            parts = [self.classify(p) for p in pieces]
            found = {p.label for p in parts}
            if None not in found and len(found) == 1:
                return TypeMatch(found.pop(), any(p.uncertain for p in parts))
            if len(found - {None}) > 1:
                return TypeMatch(None, reason="ambiguous")
        return TypeMatch(None, reason="unknown")

    def map_types(self, types: Iterable[Any], include_uncertain: bool = True) -> pd.Series:
        """Super-class of each type, missing where the type is untyped, unknown, ambiguous or excluded.

        Parameters
        ----------
        types : iterable of str
            Catalogue types.
        include_uncertain : bool
            Keep uncertain types (``"SN?"``) with their class; False leaves them unlabelled.

        Returns
        -------
        Series of str
            One label per type (``str`` dtype, missing as NA), on a fresh RangeIndex.
        """
        cache: dict[str, TypeMatch] = {}
        out = []
        for raw in types:
            key = _normalise(raw)
            match = cache.setdefault(key, self.classify(key))
            keep = match.label is not None and (include_uncertain or not match.uncertain)
            out.append(match.label if keep else None)
        return pd.Series(out, dtype="str")


def load_label_map(path: str | Path | None = None) -> LabelMap:
    """Read a type-to-class mapping file; without a path, the packaged default (VS / SN / AGN).

    Parameters
    ----------
    path : str or Path, optional
        A JSON file laid out like ``lcrnn/data/label_maps/default.json``: ``classes``, ``types`` (class ->
        list of types), optional ``patterns``, ``untyped``, ``modifiers``, ``uncertain_markers`` and
        ``composite_separators``. Copy the default to start a new one.

    Returns
    -------
    LabelMap

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InvalidTableError
        If the file is not valid JSON or not laid out as above.
    """
    if path is None:
        text = resources.files("lcrnn.data").joinpath("label_maps/default.json").read_text(encoding="utf-8")
        source = "the default label map"
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"label mapping file {path} does not exist; copy lcrnn's "
                                    "data/label_maps/default.json and edit it.")
        text = path.read_text(encoding="utf-8")
        source = f"label mapping file {path}"
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidTableError(f"{source} is not valid JSON: {exc}.") from None
    return LabelMap.from_dict(spec, source)
