"""The machine a run or benchmark ran on, without heavy imports (bench_synthetic sets thread variables first)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU model name (Linux ``/proc/cpuinfo``, else ``platform.processor()``)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
