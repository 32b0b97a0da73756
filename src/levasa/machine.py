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


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""CPU flags (``/proc/cpuinfo``) of the instructions that run bf16 matrix products natively; without them oneDNN
emulates bf16, which was measured 12x slower than fp32 (docs/PERFORMANCE.md)."""


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); empty where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[1].split()) if ":" in line else set()


def resolve_precision(
    precision: str | int, accelerator: str, flags: set[str] | None = None, gpu_bf16: bool | None = None
) -> tuple[str, str]:
    """``trainer.precision=auto`` made concrete, with the reason: ``bf16-mixed`` where the hardware runs bf16
    natively (a GPU that supports it, ``gpu_bf16``; a CPU with one of :data:`NATIVE_BF16_FLAGS` in ``flags``,
    read from this machine when None), ``32-true`` elsewhere. Any other value is returned as it is."""
    if str(precision) != "auto":
        return str(precision), "as configured"
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpu_bf16 is not None):
        if gpu_bf16:
            return "bf16-mixed", "the GPU supports bf16"
        return "32-true", "the GPU does not support bf16"
    found = sorted(set(NATIVE_BF16_FLAGS) & (cpu_flags() if flags is None else flags))
    if found:
        return "bf16-mixed", f"the CPU runs bf16 natively ({', '.join(found)})"
    return "32-true", f"the CPU has no native bf16 (none of {', '.join(NATIVE_BF16_FLAGS)})"
