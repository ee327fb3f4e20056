"""What the state store refuses beyond invalid input (which raises the data layer's own errors)."""

from __future__ import annotations

from collections.abc import Sequence

from lcrnn.errors import LcrnnError

__all__ = ["ObjectConflictError", "StoreError", "UnknownObjectError"]


class StoreError(LcrnnError, RuntimeError):
    """The database could not complete a write (busy for too long, or unreachable)."""


class UnknownObjectError(LcrnnError, KeyError):
    """Observations arrived for objects that were never registered."""

    def __init__(self, object_ids: Sequence[str]) -> None:
        self.object_ids = list(object_ids)
        shown = ", ".join(self.object_ids[:5]) + (", ..." if len(self.object_ids) > 5 else "")
        super().__init__(
            f"{len(self.object_ids)} unknown object(s) ({shown}); register them first "
            "(POST /objects with object_id, ra, dec, or an objects table for lcrnn ingest)."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ObjectConflictError(LcrnnError, ValueError):
    """An object id was registered again at a different position."""
