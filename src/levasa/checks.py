"""Argument checks shared by the numpy layers (annotation sampling, the synthetic faces); imports nothing of levasa."""

from __future__ import annotations

import numpy as np


def check_integer(name: str, value: object, minimum: int = 1) -> None:
    """Raise ValueError unless ``value`` is an integer (Python or numpy) of at least ``minimum``."""
    if not (isinstance(value, int | np.integer) and value >= minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, found {value!r}")


def check_shape(name: str, array: np.ndarray, shape: tuple[int | None, ...]) -> None:
    """Raise ValueError unless ``array`` has ``shape``, where None allows any length (shown as ``N``)."""
    if array.ndim != len(shape) or any(e not in (None, d) for e, d in zip(shape, array.shape, strict=True)):
        expected = "[" + ", ".join("N" if e is None else str(e) for e in shape) + "]"
        raise ValueError(f"{name} must have shape {expected}, found {list(array.shape)}")
