"""The stream worker: a Kafka consumer in a group that classifies alerts as they come.

Each poll takes up to ``batch_size`` messages and:

1. stores their alerts through the service (:func:`~lcrnn.serve.stream.batch.store_messages`): registered
   objects and new detections in transactions that have committed when it returns;
2. publishes one classification per alert (:mod:`~lcrnn.serve.stream.classifications`) and each bad message
   to the dead-letter topic, and waits until the broker has acknowledged them all;
3. only then commits the messages' offsets.

A worker killed anywhere in between leaves its offsets where they were, so the group's next owner of the
partition reads those messages again: at-least-once delivery, made harmless by idempotent storage (an alert
stored again is a no-op; its classification is published again, the same). Workers of one group share the
topics' partitions (Kafka's consumer groups); a producer that keys alerts by object keeps each object's
alerts in order on one partition, so one worker sees them in order. SIGTERM (:meth:`StreamWorker.stop`)
finishes the batch in hand, commits it and leaves the group.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from lcrnn.errors import LcrnnError
from lcrnn.serve.stream.batch import store_messages
from lcrnn.serve.stream.classifications import classification_messages
from lcrnn.serve.stream.config import StreamConfig
from lcrnn.serve.stream.packets import AlertSchema
from lcrnn.serve.stream.progress import StreamStats
from lcrnn.serve.stream.publish import Incoming, Publisher

__all__ = ["MissingKafkaError", "StreamWorker"]

log = logging.getLogger("lcrnn.stream")


class StreamWorker:
    """A consumer-group member that classifies the alerts of its partitions.

    Parameters
    ----------
    service
        The :class:`~lcrnn.serve.service.ClassificationService` (model, catalogue, store).
    config
        Topics, group, batch size (:class:`~lcrnn.serve.stream.config.StreamConfig`).
    consumer, producer
        ``confluent_kafka`` clients (built from ``config`` when not given).
    """

    def __init__(self, service: Any, config: StreamConfig, *, consumer: Any = None, producer: Any = None) -> None:
        Consumer, Producer = _kafka_clients()
        self.service = service
        self.config = config
        self.schema = AlertSchema(config.schema_path) if config.schema_path is not None else None
        self.consumer = consumer if consumer is not None else Consumer(config.consumer_settings())
        self.publisher = Publisher(producer if producer is not None else Producer(config.producer_settings()))
        run = service.store.bound().get("run") or {}
        self.model = {"name": str(run.get("name")), "weights_sha256": str(run.get("weights_sha256"))}
        self.stats = StreamStats()
        self._stopping = False
        self._quiet_since: float | None = None  # idle since: set once the group has given partitions

    def stop(self, *_: Any) -> None:
        """Finish the batch in hand, commit it and leave the group (a signal handler)."""
        self._stopping = True

    def run(self) -> StreamStats:
        """Consume until :meth:`stop` (or ``stop_when_idle_s`` without a message once partitions are
        assigned); returns the totals."""
        cfg = self.config
        self.consumer.subscribe(list(cfg.topics), on_assign=self._assigned, on_revoke=_said("revoked"))
        log.info("stream: reading %s as group %r from %s", ", ".join(cfg.topics), cfg.group, cfg.bootstrap_servers)
        last_line = time.monotonic()
        try:
            while not self._stopping:
                messages = self._poll()
                now = time.monotonic()
                if messages:
                    self.process(messages)
                    self._quiet_since = now
                elif cfg.stop_when_idle_s is not None and now - (self._quiet_since or now) >= cfg.stop_when_idle_s:
                    log.info("stream: no message for %.0f s, stopping", cfg.stop_when_idle_s)
                    break
                if now - last_line >= cfg.log_every_s:
                    log.info("stream: %s", self.stats.line())
                    last_line = now
        finally:
            self.consumer.close()  # leaves the group: its partitions go to the others at once
            self.publisher.close()
            log.info("stream: stopped after %s", self.stats.line())
        return self.stats

    def process(self, messages: Sequence[Incoming]) -> None:
        """Store, publish, wait for the broker, then commit the offsets of ``messages``."""
        self.stats.begin()
        outcome = store_messages(self.service, messages, self.schema)
        published = 0
        if self.config.output_topic is not None and outcome.alerts:
            for record in classification_messages(self.service, outcome.alerts, self.model):
                self.publisher.send_json(self.config.output_topic, record, key=record["object_id"])
                published += 1
        for dead in outcome.dead:
            self.publisher.dead_letter(self.config.dead_letters, dead.message, dead.reason, dead.problem)
        self.publisher.flush()  # raises (offsets uncommitted) when the broker did not take them
        self._commit(messages)
        self.stats.add(outcome, len(messages), published)

    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        """Partitions given by the group: from here on, time without messages counts as idle."""
        _said("assigned")(consumer, partitions)
        if self._quiet_since is None:
            self._quiet_since = time.monotonic()

    def _poll(self) -> list[Incoming]:
        from confluent_kafka import KafkaError, KafkaException

        out = []
        for msg in self.consumer.consume(self.config.batch_size, self.config.poll_timeout_s):
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise KafkaException(err)
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("stream: consumer error: %s", err)
                continue
            out.append(Incoming(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value()))
        return out

    def _commit(self, messages: Sequence[Incoming]) -> None:
        """Commit, per partition, the offset after the last message processed (synchronously)."""
        from confluent_kafka import KafkaException, TopicPartition

        last: dict[tuple[str, int], int] = {}
        for m in messages:
            last[(m.topic, m.partition)] = max(last.get((m.topic, m.partition), -1), m.offset)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in sorted(last.items())]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # the group rebalanced meanwhile: the partition's next owner re-reads them
            self.stats.commit_failures += 1
            log.warning("stream: offsets not committed (%s); their new owner reads them again, storing "
                        "nothing twice", exc)


class MissingKafkaError(LcrnnError, ImportError):
    """confluent-kafka is not installed (it is an extra: ``pip install 'lcrnn[stream]'``)."""


def _kafka_clients() -> tuple[Any, Any]:
    try:
        from confluent_kafka import Consumer, Producer
    except ImportError as exc:
        raise MissingKafkaError("lcrnn stream needs confluent-kafka: pip install 'lcrnn[stream]'.") from exc
    return Consumer, Producer


def _said(what: str) -> Any:
    def callback(_consumer: Any, partitions: list[Any]) -> None:
        log.info("stream: %s partitions %s", what, ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "-")

    return callback
