"""Messages the stream sends: classifications and dead letters, each delivery confirmed before offsets move.

:class:`Publisher` wraps one Kafka producer. :meth:`Publisher.flush` waits until every message sent so far
is acknowledged by the broker and raises when one was not, so the worker commits its input offsets only for
messages whose outputs are safely on their topics (at-least-once, end to end).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DeliveryError", "Incoming", "Publisher"]


class DeliveryError(RuntimeError):
    """The broker did not take a message (the worker stops without committing, and the batch is re-read)."""


@dataclass(frozen=True)
class Incoming:
    """One consumed message: where it came from and its raw value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def name(self) -> str:
        """How logs and dead letters name it: ``topic[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Publisher:
    """A Kafka producer whose deliveries are checked.

    Parameters
    ----------
    producer
        A ``confluent_kafka.Producer`` (or anything with its ``produce``/``poll``/``flush``).
    flush_timeout_s
        How long :meth:`flush` waits for the broker's acknowledgements.
    """

    def __init__(self, producer: Any, flush_timeout_s: float = 30.0) -> None:
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s
        self._failures: list[str] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: Sequence[tuple[str, bytes]] = ()) -> None:
        """Queue one message (delivery is checked by :meth:`flush`)."""
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, headers=list(headers), on_delivery=self._done)
                return
            except BufferError:  # the local queue is full: let the broker take some first
                self.producer.poll(0.1)

    def send_json(self, topic: str, record: Mapping[str, Any], key: str | None = None) -> None:
        """Queue one JSON message."""
        self.send(topic, json.dumps(record, separators=(",", ":")).encode(), None if key is None else key.encode())

    def dead_letter(self, topic: str, message: Incoming, reason: str, problem: str) -> None:
        """Forward ``message`` unchanged to ``topic``, with headers saying where it came from and why."""
        headers = [
            ("lcrnn.reason", reason.encode()),
            ("lcrnn.error", problem.encode("utf-8", "replace")[:4000]),
            ("lcrnn.source", message.name.encode()),
        ]
        self.send(topic, message.value or b"", message.key, headers)

    def flush(self) -> None:
        """Wait for every queued message to be acknowledged.

        Raises
        ------
        DeliveryError
            A message was refused or not acknowledged in time.
        """
        left = self.producer.flush(self.flush_timeout_s)
        failures, self._failures = self._failures, []
        if left:
            failures.append(f"{left} message(s) not acknowledged within {self.flush_timeout_s:g} s")
        if failures:
            raise DeliveryError(f"{len(failures)} output message(s) not delivered: {'; '.join(failures[:3])}")

    def close(self) -> None:
        """Send what is queued and let the producer go (its connections close now, not at interpreter exit)."""
        if self.producer is not None:
            self.producer.flush(self.flush_timeout_s)
            self.producer = None

    def _done(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")
