"""A photometry table replayed as ZTF-style alert packets: what the stream tests and benchmarks send.

Each detection becomes the ``candidate`` of one alert, whose ``prv_candidates`` hold the object's earlier
detections of the last ``history_days`` (ZTF sends 30 days), as ZTF's alerts do. Every other field of the
writer's schema gets its default (null where the schema allows it), so the packets are valid for any ZTF
schema version given (the one in a real alert file's header, or the ``.avsc`` files).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.serve.stream.packets import AlertSchema, encode_container, encode_single_object
from lcrnn.serve.ztf_alerts import JD_TO_MJD

__all__ = ["FIDS", "alert_packets", "encode_alert"]

FIDS = {"g": 1, "r": 2, "i": 3}  # ZTF filter ids of the bands (lcrnn.serve.ztf_alerts reads them back)
_CANDID_BASE = 2_000_000_000_000_000_000  # candids of replayed alerts: far from ZTF's real ones


def alert_packets(
    photometry: pd.DataFrame, objects: pd.DataFrame, schema: AlertSchema, history_days: float = 30.0
) -> Iterator[dict[str, Any]]:
    """One alert packet per detection, in time order over the whole table.

    Parameters
    ----------
    photometry
        ``object_id, mjd, mag, mag_err`` and ``band`` (``g``, ``r`` or ``i``; default ``r``).
    objects
        ``object_id, ra, dec`` of every object in ``photometry``.
    schema
        A ZTF alert schema (``alert`` with ``candidate`` and ``prv_candidates`` records).
    history_days
        How far back ``prv_candidates`` reach.
    """
    alert_t, cand_t, prv_t = _templates(schema.parsed)
    where = objects.set_index(objects["object_id"].astype(str))[["ra", "dec"]]
    table = photometry.assign(object_id=photometry["object_id"].astype(str)).reset_index(drop=True)
    table["candid"] = _CANDID_BASE + np.arange(len(table))
    table = table.sort_values(["mjd", "object_id"], kind="stable")
    past: dict[str, list[dict[str, Any]]] = {}
    for row in table.itertuples(index=False):
        ra, dec = (float(v) for v in where.loc[row.object_id])
        fid = FIDS.get(str(getattr(row, "band", "r")), 2)
        values = {"jd": float(row.mjd) + JD_TO_MJD, "fid": fid, "ra": ra, "dec": dec, "magpsf": float(row.mag),
                  "sigmapsf": float(row.mag_err), "candid": int(row.candid)}
        earlier = [p for p in past.get(row.object_id, []) if p["jd"] >= values["jd"] - history_days]
        packet = copy.deepcopy(alert_t)
        packet.update(objectId=row.object_id, candid=int(row.candid),
                      candidate={**copy.deepcopy(cand_t), **values}, prv_candidates=earlier or None)
        yield packet
        past.setdefault(row.object_id, []).append({**copy.deepcopy(prv_t), **values})


def encode_alert(packet: Mapping[str, Any], schema: AlertSchema, encoding: str = "container") -> bytes:
    """One packet as a message value: ``"container"`` (as ZTF sends) or ``"single-object"``."""
    if encoding == "container":
        return encode_container([dict(packet)], schema)
    if encoding == "single-object":
        return encode_single_object(dict(packet), schema)
    raise ValueError(f"encoding must be 'container' or 'single-object', got {encoding!r}.")


def _templates(alert: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Default records of the alert, its candidate and a prv_candidate (named types resolved)."""
    named: dict[str, Any] = {}
    template = _default(alert, named)
    cand = _default(_record_of(_field(alert, "candidate")["type"], named), named)
    prv = _default(_record_of(_field(alert, "prv_candidates")["type"], named), named)
    return template, cand, prv


def _field(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for f in record["fields"]:
        if f["name"] == name:
            return f
    raise ValueError(f"the alert schema has no field {name!r}: is it a ZTF alert schema?")


def _record_of(kind: Any, named: dict[str, Any]) -> Mapping[str, Any]:
    """The record type inside ``kind`` (a record, an array of them, or a union with null)."""
    if isinstance(kind, list):
        return _record_of(next(k for k in kind if k != "null"), named)
    if isinstance(kind, str):
        return named[kind]
    if kind.get("type") == "array":
        return _record_of(kind["items"], named)
    return kind


_PRIMITIVE = {"int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": "", "boolean": False, "bytes": b""}


def _default(kind: Any, named: dict[str, Any]) -> Any:
    """A valid value of ``kind``: null where allowed, else the field's default, else zero, empty or first."""
    if isinstance(kind, list):
        return None if "null" in kind else _default(kind[0], named)
    if isinstance(kind, str):
        return _PRIMITIVE[kind] if kind in _PRIMITIVE else _default(named[kind], named)
    if kind["type"] == "record":
        named.setdefault(kind["name"], kind)
        return {f["name"]: f["default"] if "default" in f else _default(f["type"], named) for f in kind["fields"]}
    if kind["type"] == "enum":
        named.setdefault(kind["name"], kind)
        return kind["symbols"][0]
    return {"array": [], "map": {}}.get(kind["type"], _PRIMITIVE.get(kind["type"]))
