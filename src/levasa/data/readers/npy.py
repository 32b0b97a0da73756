"""The single number a ``.npy`` file holds (AffectNet 2021 keeps one per face and kind, often as a string).

Loading goes through ``np.load(allow_pickle=False)``; whatever it raises on a broken file (ValueError, EOFError,
a zip or tokenizer error, MemoryError for a huge declared shape, ...) becomes a :class:`BadValueError` with a
reason a reader counts when skipping, and the caller names the file.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
from pathlib import Path

import numpy as np

from levasa.data.readers.records import BadValueError

UNREADABLE_NPY = "unreadable .npy file"
NOT_SINGLE = ".npy file not a single value"
NOT_A_NUMBER = "field not a number"
MAX_NPY_BYTES = 1 << 20
"""A single value's ``.npy`` file is about 128 bytes; larger files are not read."""

_LOAD_ERRORS = (OSError, ValueError, EOFError, MemoryError, RecursionError, zipfile.BadZipFile, tokenize.TokenError)
"""What ``np.load`` raises on a file that is not a readable ``.npy`` file."""


def load_single(path: Path) -> np.ndarray:
    """The 0-d array of the ``.npy`` file ``path`` holding one value of a plain dtype.

    Raises:
        BadValueError: the file is larger than :data:`MAX_NPY_BYTES`, not a ``.npy`` file numpy can read without
            unpickling (object arrays and pickles are refused), a zip archive, or holds other than one value.
    """
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadValueError(UNREADABLE_NPY, f"({err})") from None
    if size > MAX_NPY_BYTES:
        raise BadValueError(NOT_SINGLE, f"(over {MAX_NPY_BYTES} bytes)")
    try:
        array = np.load(path, allow_pickle=False)
    except _LOAD_ERRORS as err:
        raise BadValueError(UNREADABLE_NPY, f"({_short(f'{type(err).__name__}: {err}', 120)})") from None
    if not isinstance(array, np.ndarray):  # a zip archive opens as an NpzFile
        array.close()
        raise BadValueError(UNREADABLE_NPY, "(a zip archive (.npz), not a .npy file)")
    if array.size != 1:
        raise BadValueError(NOT_SINGLE, f"(shape {array.shape})")
    return array.reshape(())


def read_number(path: Path) -> float:
    """The single value of the ``.npy`` file ``path`` as a finite float; strings and bytes are parsed as numbers.

    Raises:
        BadValueError: as :func:`load_single`, or the value is not a finite number (complex, datetime, raw
            bytes, a boolean, text that is not a number).
    """
    array = load_single(path)
    if array.dtype.kind not in "biufSU":  # complex, datetime, raw bytes (void)
        raise BadValueError(NOT_A_NUMBER, f"(a {array.dtype} value)")
    value = array.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise BadValueError(NOT_A_NUMBER, f"({_short(repr(value))})") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise BadValueError(NOT_A_NUMBER, f"({_short(repr(value))})")
    return number


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
