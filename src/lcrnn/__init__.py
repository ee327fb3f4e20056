"""lcrnn: real-time light-curve classification with recurrent neural networks for imbalanced surveys."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lcrnn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"

__all__ = ["Classifier", "__version__"]


def __getattr__(name: str):
    # The classifier pulls in torch; import it lazily so `import lcrnn` stays cheap for the data tools.
    if name == "Classifier":
        from lcrnn.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'lcrnn' has no attribute {name!r}")
