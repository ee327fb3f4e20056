"""The installed version of lcrnn, in a module of its own so every layer can record it without importing the
package's front door (``lcrnn/__init__`` lazily imports the Classifier)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("lcrnn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"
