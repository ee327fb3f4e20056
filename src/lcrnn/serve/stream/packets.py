"""Kafka message values as Avro alert packets: the three encodings a survey's alert stream uses.

* **Avro container file** (starts with ``Obj\\x01``): the writer's schema travels in the message. ZTF
  publishes each alert this way (one container holding one alert); nothing else is needed to read it.
* **Avro single-object encoding** (starts with ``\\xc3\\x01``, then the 8-byte little-endian CRC-64-AVRO
  fingerprint of the writer's schema, then the datum): read with the schema given to the stream
  (``--schema alert.avsc``), refused when the fingerprint names another schema.
* **Confluent wire format** (``\x00``, a 4-byte schema-registry id, the datum; what Rubin's alert stream and
  other registry-backed producers send): the id is not looked up (no registry client here), the datum is
  read with the given schema.
* **Schemaless** (a bare Avro datum): read with the given schema, and refused unless the datum fills the
  whole message.

A value that is none of these, or does not decode, is a :class:`MalformedMessageError`: the stream counts
it and sends it to its dead-letter topic.
"""

from __future__ import annotations

import functools
import io
import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro
import fastavro.schema

from lcrnn.errors import InvalidConfigError

__all__ = [
    "CONFLUENT_MAGIC",
    "CONTAINER_MAGIC",
    "SINGLE_OBJECT_MAGIC",
    "AlertSchema",
    "MalformedMessageError",
    "MalformedSchemaError",
    "decode_packets",
    "encode_container",
    "encode_single_object",
]

CONTAINER_MAGIC = b"Obj\x01"
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class MalformedMessageError(ValueError):
    """A message value that cannot be read as alert packets; ``reason`` is the count's name."""

    def __init__(self, message: str, reason: str = "undecodable") -> None:
        super().__init__(message)
        self.reason = reason


class MalformedSchemaError(InvalidConfigError):
    """The ``--schema`` file cannot be read as an Avro schema."""


class AlertSchema:
    """A writer's schema for single-object and schemaless messages, parsed once, with its fingerprint.

    Parameters
    ----------
    schema
        A parsed Avro schema (a dict as ``fastavro.parse_schema`` takes), or an ``.avsc`` file; named types
        it uses are looked up in ``.avsc`` files beside it (as the ZTF schema's ``alert.avsc`` needs
        ``candidate.avsc``, ``prv_candidate.avsc`` and ``cutout.avsc``).
    """

    def __init__(self, schema: Mapping[str, Any] | str | Path) -> None:
        if isinstance(schema, (str, Path)):
            path = Path(schema)
            if not path.is_file():
                raise FileNotFoundError(f"Avro schema {path} not found; pass the writer's .avsc file (--schema).")
            self.parsed = _load_avsc(path)
        else:
            self.parsed = fastavro.parse_schema(dict(schema))
        canonical = fastavro.schema.to_parsing_canonical_form(self.parsed)
        # fastavro writes the 64-bit fingerprint's bytes little-endian, as the single-object header holds it.
        self.fingerprint = bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
        # The container header written once: the schema's JSON (~20 kB for ZTF's) would cost more than the alert.
        self.sync = self.fingerprint * 2
        header = io.BytesIO()
        fastavro.schemaless_writer(header, _HEADER, {
            "magic": CONTAINER_MAGIC, "sync": self.sync,
            "meta": {"avro.schema": canonical.encode(), "avro.codec": b"null"}})
        self.container_header = header.getvalue()


def _load_avsc(path: Path) -> Any:
    """Parse ``path``, first parsing every ``.avsc`` beside it that it may name (in whatever order they need)."""
    named: dict[str, Any] = {}
    pending = [p for p in sorted(path.parent.glob("*.avsc")) if p != path]
    while pending:  # a file parses once the types it names are parsed: repeat until no file is added
        left = []
        for other in pending:
            try:
                fastavro.parse_schema(json.loads(other.read_text()), named)
            except Exception:  # noqa: BLE001 -- not yet parsable, or not a schema this one needs
                left.append(other)
        if len(left) == len(pending):
            break
        pending = left
    order = [p for p in sorted(path.parent.glob("*.avsc")) if p != path and p not in pending]
    try:  # the types it names written out in full, so that its fingerprint is the writer's
        return fastavro.schema.load_schema_ordered([*order, path])
    except Exception as exc:  # noqa: BLE001 -- bad JSON or an unknown type name
        raise MalformedSchemaError(f"{path} is not an Avro schema fastavro can read ({type(exc).__name__}: {str(exc)[:200]}); "
                                   "put the .avsc files of the types it names beside it.") from exc


def decode_packets(value: bytes | None, schema: AlertSchema | None = None) -> list[Any]:
    """The records of one message value (see the module notes for the encodings).

    Raises
    ------
    MalformedMessageError
        An empty value, an unknown encoding, a fingerprint of another schema, or a datum that does not decode.
    """
    if not value:
        raise MalformedMessageError("is empty (a tombstone or a producer error); expected an Avro alert")
    if value.startswith(CONTAINER_MAGIC):
        try:
            return _container_records(value)
        except Exception as exc:  # noqa: BLE001 -- damaged Avro raises anything from EOFError to zlib.error
            raise MalformedMessageError(f"is a damaged Avro container ({type(exc).__name__}: {exc})") from exc
    if schema is None:
        raise MalformedMessageError(
            f"is not an Avro container file (starts with {value[:4]!r}); single-object or schemaless messages "
            "need the writer's schema (--schema alert.avsc)"
        )
    if value.startswith(SINGLE_OBJECT_MAGIC):
        found = value[2:10]
        if found != schema.fingerprint:
            raise MalformedMessageError(
                f"is single-object Avro of another schema (fingerprint {found.hex()}, the stream's "
                f"{schema.fingerprint.hex()}); pass that schema with --schema", "wrong_schema")
        return [_datum(value[10:], schema)]
    if value[:1] == CONFLUENT_MAGIC and len(value) > 5:
        return [_datum(value[5:], schema)]
    return [_datum(value, schema)]


def _container_records(value: bytes) -> list[Any]:
    """The records of an Avro container file, its writer's schema parsed once per distinct schema.

    ``fastavro.reader`` parses the schema in the header of every message, which costs more than the alert
    itself (ZTF's schema is ~20 kB of JSON); here parsed schemas are kept by their text.
    """
    buf = io.BytesIO(value)
    header = fastavro.schemaless_reader(buf, _HEADER, None)
    meta = header["meta"]
    codec = meta.get("avro.codec", b"null")
    if codec not in (b"null", b"deflate"):
        return list(fastavro.reader(io.BytesIO(value)))  # other codecs: the general (slower) reader
    parsed = _writer_schema(meta["avro.schema"])
    records: list[Any] = []
    while buf.tell() < len(value):
        count = fastavro.schemaless_reader(buf, "long", None)
        size = fastavro.schemaless_reader(buf, "long", None)
        data = buf.read(size)
        if len(data) != size or buf.read(16) != header["sync"]:
            raise EOFError("truncated block or wrong sync marker")
        block = io.BytesIO(zlib.decompress(data, -15) if codec == b"deflate" else data)
        records += [fastavro.schemaless_reader(block, parsed, None) for _ in range(count)]
    return records


_HEADER = fastavro.parse_schema({
    "type": "record", "name": "org.apache.avro.file.Header",
    "fields": [{"name": "magic", "type": {"type": "fixed", "name": "Magic", "size": 4}},
               {"name": "meta", "type": {"type": "map", "values": "bytes"}},
               {"name": "sync", "type": {"type": "fixed", "name": "Sync", "size": 16}}]})


@functools.lru_cache(maxsize=32)
def _writer_schema(text: bytes) -> Any:
    return fastavro.parse_schema(json.loads(text))


def _datum(body: bytes, schema: AlertSchema) -> Any:
    """One schemaless datum that must fill ``body`` exactly (a wrong schema rarely does)."""
    stream = io.BytesIO(body)
    try:
        record = fastavro.schemaless_reader(stream, schema.parsed, None)
    except Exception as exc:  # noqa: BLE001 -- a wrong schema or garbage raises anything
        raise MalformedMessageError(f"does not decode with the stream's schema ({type(exc).__name__}: {exc})") from exc
    if stream.tell() != len(body):
        raise MalformedMessageError(
            f"does not decode with the stream's schema ({len(body) - stream.tell()} bytes left over)")
    return record


def encode_container(records: list[Any], schema: AlertSchema) -> bytes:
    """Records as one Avro container file (how ZTF sends each alert), uncompressed, in one block."""
    block = io.BytesIO()
    for record in records:
        fastavro.schemaless_writer(block, schema.parsed, record)
    out = io.BytesIO()
    out.write(schema.container_header)
    fastavro.schemaless_writer(out, "long", len(records))
    fastavro.schemaless_writer(out, "long", block.tell())
    out.write(block.getvalue())
    out.write(schema.sync)
    return out.getvalue()


def encode_single_object(record: Any, schema: AlertSchema) -> bytes:
    """One record in Avro single-object encoding: magic, the schema's fingerprint, the datum."""
    out = io.BytesIO()
    out.write(SINGLE_OBJECT_MAGIC + schema.fingerprint)
    fastavro.schemaless_writer(out, schema.parsed, record)
    return out.getvalue()
