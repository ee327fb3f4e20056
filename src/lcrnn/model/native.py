"""The compiled C kernels of lcrnn (``native_step.c``): built with the system C compiler on first use, cached.

Why C and ctypes rather than a torch extension: the kernels need no torch headers, so they compile in about a
second on any machine with ``cc`` (a torch C++ extension takes a minute and ties the build to torch's ABI),
and everything falls back to the pure torch code when no compiler is found, when compiling fails, or
when ``LCRNN_NATIVE=0`` is set. Users: :mod:`lcrnn.model.flat_step` (one served step) and :mod:`lcrnn.model.fused`
(the gate arithmetic of each eval-mode recurrent step).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["address", "native_library"]

log = logging.getLogger(__name__)

_SOURCE = Path(__file__).with_name("native_step.c")


def _cpu_key() -> str:
    """What the compiled kernel depends on: source, compiler flags' target (this CPU's features), platform."""
    flags = ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = next((ln for ln in lines if ln.startswith("flags")), "")
    except OSError:
        pass
    text = _SOURCE.read_bytes() + flags.encode() + platform.machine().encode()
    return hashlib.sha256(text).hexdigest()[:16]


def _compile(target: Path) -> None:
    """Compile the kernel into ``target`` atomically (a half-written library is never loaded)."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise OSError("no C compiler (cc, gcc) on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        # -fno-trapping-math lets the compiler vectorise the clamps in exp_fast; no result changes.
        cmd = [compiler, "-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-shared", "-fPIC",
               "-o", tmp, str(_SOURCE), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise OSError(f"{' '.join(cmd)} failed: {done.stderr.strip()[:500]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@lru_cache(maxsize=1)
def native_library() -> ctypes.CDLL | None:
    """The compiled step kernel, or None (no compiler, ``LCRNN_NATIVE=0``, or it failed: logged once).

    Cached under ``$LCRNN_CACHE_DIR`` (default ``~/.cache/lcrnn``), one file per source and CPU.
    """
    if os.environ.get("LCRNN_NATIVE", "1") == "0":
        return None
    cache = Path(os.environ.get("LCRNN_CACHE_DIR") or Path.home() / ".cache" / "lcrnn")
    target = cache / f"native_step-{_cpu_key()}.so"
    try:
        if not target.exists():
            _compile(target)
        lib = ctypes.CDLL(str(target))
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("lcrnn: native step kernel unavailable (%s); using the torch step", exc)
        return None
    lib.lcrnn_step.restype = ctypes.c_int
    pointer, size = ctypes.c_void_p, ctypes.c_int
    lib.lcrnn_step.argtypes = [pointer, pointer, size, pointer, pointer, pointer, pointer, pointer, pointer]
    lib.lcrnn_gru_gates.restype = None
    lib.lcrnn_gru_gates.argtypes = [size, size, pointer, pointer, pointer, pointer]
    lib.lcrnn_gru_gates_keep.restype = None
    lib.lcrnn_gru_gates_keep.argtypes = [size, size, pointer, pointer, pointer, pointer, pointer, pointer]
    lib.lcrnn_lstm_gates.restype = None
    lib.lcrnn_lstm_gates.argtypes = [size, size, pointer, pointer, pointer, pointer]
    return lib


def address(a: np.ndarray) -> int:
    """The first element's address of a numpy array (what the kernels take)."""
    return a.__array_interface__["data"][0]
