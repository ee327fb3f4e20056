"""Alerts from Kafka: a consumer-group worker that classifies each alert through the service's code.

Modules, one job each:

* :mod:`~lcrnn.serve.stream.config` -- :class:`StreamConfig`: brokers, topics, group, batch size;
* :mod:`~lcrnn.serve.stream.packets` -- message values as Avro alert packets (container, single-object,
  schemaless);
* :mod:`~lcrnn.serve.stream.batch` -- one poll's alerts checked and stored (idempotent), bad messages found;
* :mod:`~lcrnn.serve.stream.classifications` -- the JSON classification message of each alert;
* :mod:`~lcrnn.serve.stream.publish` -- classifications and dead letters sent, their delivery confirmed;
* :mod:`~lcrnn.serve.stream.progress` -- counts and rates;
* :mod:`~lcrnn.serve.stream.worker` -- :class:`StreamWorker`, the consume-store-publish-commit loop;
* :mod:`~lcrnn.serve.stream.replay` -- a photometry table replayed as ZTF-style alerts (tests, benchmarks).
"""

from lcrnn.serve.stream.config import StreamConfig
from lcrnn.serve.stream.worker import StreamWorker

__all__ = ["StreamConfig", "StreamWorker"]
