"""What a stream worker has done, and the progress line it logs: counts and rates."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StreamStats"]


@dataclass
class StreamStats:
    """Running totals of a stream worker.

    ``alerts`` were stored (or found stored already: ``duplicates`` counts those detections) and published;
    ``dead_lettered`` counts messages sent to the dead-letter topic per reason (``undecodable``,
    ``wrong_schema``, ``invalid_field``, ``invalid_value``, ``moved_position``, ``refused``); ``other_band``
    counts detections skipped because the service reads another band.
    """

    messages: int = 0
    alerts: int = 0
    registered: int = 0
    accepted: int = 0
    duplicates: int = 0
    upper_limits: int = 0
    other_band: int = 0
    published: int = 0
    batches: int = 0
    commit_failures: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    first_at: float | None = None  # monotonic time of the first message: rates leave out start-up and joining
    last_at: float | None = None
    _mark: tuple[float, int] | None = None  # (time, alerts) at the last progress line

    def begin(self) -> None:
        """A batch arrived: the first one starts the clock of the rates."""
        if self.first_at is None:
            self.first_at = time.monotonic()
            self._mark = (self.first_at, 0)

    def add(self, outcome: Any, n_messages: int, published: int) -> None:
        """Count one processed batch (a :class:`~lcrnn.serve.stream.batch.BatchOutcome`)."""
        self.begin()
        self.last_at = time.monotonic()
        self.batches += 1
        self.messages += n_messages
        self.alerts += len(outcome.alerts)
        self.registered += outcome.registered
        self.accepted += outcome.accepted
        self.duplicates += outcome.duplicates
        self.upper_limits += outcome.upper_limits
        self.other_band += outcome.other_band
        self.published += published
        for dead in outcome.dead:
            self.dead_lettered[dead.reason] = self.dead_lettered.get(dead.reason, 0) + 1

    @property
    def rate(self) -> float:
        """Alerts per second from the first message to the last."""
        if self.first_at is None or self.last_at is None or self.last_at <= self.first_at:
            return 0.0
        return self.alerts / (self.last_at - self.first_at)

    def line(self) -> str:
        """The progress line: totals, the rate since the last line and overall."""
        now = time.monotonic()
        then, before = self._mark or (now, 0)
        recent = (self.alerts - before) / (now - then) if now > then else 0.0
        self._mark = (now, self.alerts)
        dead = sum(self.dead_lettered.values())
        reasons = f" ({', '.join(f'{n} {r}' for r, n in sorted(self.dead_lettered.items()))})" if dead else ""
        return (f"{self.alerts} alerts in {self.messages} messages ({recent:.0f}/s now, {self.rate:.0f}/s overall): "
                f"{self.registered} new objects, {self.accepted} detections classified, {self.duplicates} repeats, "
                f"{self.upper_limits} upper limits, {self.other_band} in other bands skipped, "
                f"{self.published} published, {dead} dead-lettered{reasons}")
