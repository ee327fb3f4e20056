"""One rule for turning a saved dictionary back into a frozen config dataclass.

Every config (``NetworkConfig``, ``TrainConfig``, ``ContextConfig``, the grid's) is read back through
:func:`config_from_dict`, so an unknown key is always the same clear error and never silently dropped: a typo in
a hand-edited ``config.json`` would otherwise train or serve with a default the user did not ask for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from lcrnn.errors import InvalidConfigError

__all__ = ["config_from_dict", "field_names"]

T = TypeVar("T")


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a config dataclass, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def config_from_dict(cls: type[T], data: Mapping[str, Any], *, ignore: tuple[str, ...] = ()) -> T:
    """Build ``cls`` from a mapping of field values; missing fields take their defaults.

    Parameters
    ----------
    cls
        A dataclass whose ``__post_init__`` validates values.
    data
        Field names to values, as written by ``to_dict``.
    ignore
        Keys that older saved runs wrote and that are no longer fields (read and dropped on purpose).

    Raises
    ------
    InvalidConfigError
        ``data`` is not a mapping or names a key that is not a field.
    """
    if not isinstance(data, Mapping):
        raise InvalidConfigError(f"{cls.__name__} needs a dictionary of settings, got {type(data).__name__}.")
    known = field_names(cls)
    unknown = sorted(set(data) - set(known) - set(ignore))
    if unknown:
        raise InvalidConfigError(
            f"Unknown {cls.__name__} setting(s) {unknown}; the known ones are {sorted(known)}.")
    return cls(**{k: v for k, v in data.items() if k in known})
