"""What every benchmark writes beside its printed table: the machine, its load, the arguments and the rows."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any


def write_results(path: Path, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    """``path`` (JSON): machine, CPUs, load average now, the command's arguments and the measured rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                "load_average": os.getloadavg(), "args": {k: str(v) for k, v in vars(args).items()},
                                "runs": rows}, indent=2))
