"""Where the real-time classifier keeps what it knows: objects, photometry, recurrent states, probabilities.

One SQL database (SQLAlchemy Core) holds everything, so that the service and the ``lcrnn ingest`` command
can share it and a crash loses nothing that was acknowledged. SQLite is the embedded default, PostgreSQL is
used by URL; a write returns only after its transaction has committed, so an acknowledged observation
survives ``kill -9``. Repeated observations (same object and time, or same alert id) are recognised and
ignored; unique constraints back that up against any race the checks could miss.

Modules, one job each:

* :mod:`~lcrnn.serve.store.validation` -- input checked by the data layer's rules, as column arrays;
* :mod:`~lcrnn.serve.store.schema` -- the SQL tables;
* :mod:`~lcrnn.serve.store.database` -- the engine, durable SQLite settings, retried write transactions;
* :mod:`~lcrnn.serve.store.observe` -- the write path of new photometry, step by step;
* :mod:`~lcrnn.serve.store.retract` -- retraction of a detection or an object, and the rebuild;
* :mod:`~lcrnn.serve.store.queries` -- the reads;
* :mod:`~lcrnn.serve.store.state` -- :class:`StateStore`, which ties them together.
"""

from lcrnn.serve.store.errors import ObjectConflictError, StoreError, UnknownObjectError
from lcrnn.serve.store.observe import IngestResult
from lcrnn.serve.store.retract import Retraction, UnknownObservationError
from lcrnn.serve.store.state import StateStore

__all__ = [
    "IngestResult",
    "ObjectConflictError",
    "Retraction",
    "StateStore",
    "StoreError",
    "UnknownObjectError",
    "UnknownObservationError",
]
