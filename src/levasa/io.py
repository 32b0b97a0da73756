"""Atomic file writes (torch-free, shared by the annotation tools, the figures, the reports and the checkpoints).

A reader sees either the old file or the complete new one, never a half-written file: the content goes to a
temporary file in the target's own folder (``.<name>.<random>.tmp``, hidden), is flushed to disk and renamed over
the target (``os.replace``, atomic within a filesystem). A failure or an exception removes the temporary file; a
SIGKILL can leave it behind (hidden, never read as the target; :func:`remove_stale_temporaries` clears them).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

TEMP_GLOB = ".*.tmp"
"""What :func:`write_atomic`'s temporary files look like."""


def write_atomic(path: str | Path, write: Callable[[IO[Any]], object], *, binary: bool = False) -> None:
    """Call ``write(f)`` on a temporary file beside ``path`` (text, or bytes when ``binary``), then rename it over
    ``path``; nothing is left and ``path`` is untouched when ``write`` raises. The file gets the mode a normally
    created file would (the umask's), not the temporary file's private 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"newline": ""})) as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(name, 0o666 & ~_umask())
        os.replace(name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(name)
        raise
    _fsync_folder(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_atomic(path, lambda f: f.write(text))


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON (keys sorted) to ``path`` atomically."""
    write_atomic(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_csv_atomic(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """``rows`` (dicts with the same keys, in column order) as a CSV file with a header line."""

    def write(handle: IO[Any]) -> None:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    write_atomic(path, write)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed :func:`write_atomic` calls left in ``folder``; returns them.

    Only call it while no process writes into ``folder`` (at the start of a run).
    """
    removed = []
    for tmp in sorted(Path(folder).glob(TEMP_GLOB)) if Path(folder).is_dir() else []:
        with suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
            log.warning("removed %s, left by a write that was interrupted", tmp)
    return removed


STAGING_GLOB = ".staging.*.partial"
"""What :func:`staged_outputs`' staging folders look like."""

MANIFEST = ".outputs.json"
"""The list of what :func:`staged_outputs` last put in a folder (hidden, beside the outputs)."""


@contextmanager
def staged_outputs(folder: str | Path, marker: str) -> Iterator[Path]:
    """Write a set of outputs so that they appear in ``folder`` together or not at all.

    Yields a hidden staging folder inside ``folder`` (``.staging.<random>.partial``: same filesystem, so moving
    out of it is a rename); what the block writes there replaces ``folder``'s previous outputs when the block ends
    without an exception. ``marker`` (e.g. ``metrics.json``) is the file whose presence says the outputs are
    complete: it is withdrawn first, the previous outputs go (those a manifest, ``.outputs.json``, lists, and any
    entry of the new set's names), the new ones move in, and ``marker`` moves in last. Whoever finds ``marker``
    finds the outputs written with it, never a mix of two runs. Other files in ``folder`` (Hydra's, a log) are
    left alone. An exception removes the staging folder and leaves ``folder`` as it was; a SIGKILL can leave a
    staging folder (hidden, never read; removed by the next call) or, during the renames of the swap, ``folder``
    without ``marker``: incomplete, and said to be.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(STAGING_GLOB):
        shutil.rmtree(stale, ignore_errors=True)
        log.warning("removed %s, left by an interrupted run", stale)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging.", suffix=".partial"))
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
        if not (staging / marker).is_file():
            raise RuntimeError(f"staged outputs in {folder} lack {marker}, the file that says they are complete")
        new = sorted(p.name for p in staging.iterdir() if p.name != marker)
        write_json_atomic(staging / MANIFEST, [*new, marker])
        _remove(folder / marker)
        for name in sorted(set(_manifest(folder)) | set(new)):
            _remove(folder / Path(name).name)
        for name in [*new, MANIFEST, marker]:
            os.replace(staging / name, folder / name)
        _fsync_folder(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manifest(folder: Path) -> list[str]:
    """The names :func:`staged_outputs` last put in ``folder`` (none when it never did or the list is damaged)."""
    try:
        names = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str) and n not in ("", ".", "..")] if isinstance(names, list) else []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with suppress(FileNotFoundError):
            path.unlink()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
