"""lcrnn: real-time light-curve classification with recurrent neural networks for imbalanced surveys."""

from __future__ import annotations

from lcrnn.version import __version__

__all__ = ["Classifier", "__version__"]


def __getattr__(name: str):
    # The classifier pulls in torch; import it lazily so `import lcrnn` stays cheap for the data tools.
    if name == "Classifier":
        from lcrnn.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'lcrnn' has no attribute {name!r}")
