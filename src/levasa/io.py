"""Atomic file writes (torch-free, shared by the annotation tools and the pipelines).

A reader sees either the old file or the complete new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomic(path: str | Path, write: Callable[[IO[str]], object]) -> None:
    """Write a text file via a temporary file in the same folder and a rename; nothing is left on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, newline="") as tmp:
        try:
            write(tmp)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_atomic(path, lambda f: f.write(text))


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON (keys sorted) to ``path`` atomically."""
    write_atomic(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True) + "\n"))
