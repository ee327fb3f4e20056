"""How a stream worker runs: :class:`StreamConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lcrnn.errors import InvalidConfigError

__all__ = ["StreamConfig"]


@dataclass(frozen=True)
class StreamConfig:
    """Where a stream worker reads and writes, and how much it takes at once.

    Parameters
    ----------
    bootstrap_servers
        Kafka brokers, ``host:port[,host:port...]``.
    topics
        Alert topics to read (ZTF publishes one per night, e.g. ``ztf_20260130_programid1``).
    group
        Consumer group: workers with the same group share the topics' partitions.
    output_topic
        Where one classification message per processed alert goes (JSON, see
        :mod:`lcrnn.serve.stream.classifications`); None publishes nothing.
    dead_letter_topic
        Where malformed or refused messages go, unchanged, with headers saying why; None: ``<topic>.dead-letter``.
    batch_size
        Most messages taken per poll; their alerts are stored in one transaction, then their offsets committed.
    poll_timeout_s
        How long one poll waits for messages.
    stop_when_idle_s
        Stop after this long without a message (benchmarks, replays); None runs until SIGTERM.
    log_every_s
        Seconds between progress lines.
    schema_path
        The writer's ``.avsc`` for single-object and schemaless messages (container files carry theirs).
    kafka
        Extra librdkafka settings, ``(("session.timeout.ms", "6000"), ...)``: security, timeouts, offsets.
    """

    bootstrap_servers: str
    topics: tuple[str, ...]
    group: str = "lcrnn"
    output_topic: str | None = None
    dead_letter_topic: str | None = None
    batch_size: int = 2000
    poll_timeout_s: float = 1.0
    stop_when_idle_s: float | None = None
    log_every_s: float = 10.0
    schema_path: Path | None = None
    kafka: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.topics or any(not t.strip() for t in self.topics):
            raise InvalidConfigError(f"topics must name at least one topic, got {self.topics!r}.")
        if self.batch_size < 1:
            raise InvalidConfigError(f"batch_size must be >= 1, got {self.batch_size}.")
        if self.poll_timeout_s <= 0 or self.log_every_s <= 0:
            raise InvalidConfigError("poll_timeout_s and log_every_s must be positive seconds.")
        if self.stop_when_idle_s is not None and self.stop_when_idle_s <= 0:
            raise InvalidConfigError(f"stop_when_idle_s must be positive seconds, got {self.stop_when_idle_s}.")

    @property
    def dead_letters(self) -> str:
        """The dead-letter topic: the one given, else the first alert topic's name with ``.dead-letter``."""
        return self.dead_letter_topic or f"{self.topics[0]}.dead-letter"

    def consumer_settings(self) -> dict[str, str | int | bool]:
        """librdkafka settings of the consumer: manual commits only, after the store has committed."""
        return {
            "auto.offset.reset": "earliest",  # a new group reads the topic from its start
            **dict(self.kafka),
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group,
            "enable.auto.commit": False,  # never overridden: the worker commits, after the store's transaction
        }

    def producer_settings(self) -> dict[str, str | int | bool]:
        """librdkafka settings of the producer of classifications and dead letters."""
        shared = {k: v for k, v in self.kafka if not _consumer_only(k)}
        return {"bootstrap.servers": self.bootstrap_servers, "linger.ms": 5, **shared}


_CONSUMER_ONLY = ("group.", "session.timeout", "heartbeat.", "auto.offset", "enable.auto", "max.poll",
                  "partition.assignment", "fetch.", "isolation.level", "enable.partition.eof")


def _consumer_only(key: str) -> bool:
    """Settings a producer does not take (librdkafka would warn about each)."""
    return key.startswith(_CONSUMER_ONLY)
