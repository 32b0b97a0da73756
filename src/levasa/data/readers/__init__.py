"""Readers of the official on-disk dataset formats, each parsing annotation files into :class:`Records`.

``read_dataset(name, root, **options)`` dispatches on :data:`READERS`: ``affectnet`` (2017 or 2021 release),
``afew_va``, ``imfdb`` and ``folder`` (a folder of one's own with a label file).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from levasa.data.readers import afew_va, affectnet, folder, imfdb
from levasa.data.readers.afew_va import read_afew_va
from levasa.data.readers.affectnet import read_affectnet
from levasa.data.readers.folder import read_folder
from levasa.data.readers.imfdb import read_imfdb
from levasa.data.readers.records import ReaderError, Records, check_root

READERS: dict[str, Callable[..., Records]] = {
    "affectnet": read_affectnet,
    "afew_va": read_afew_va,
    "imfdb": read_imfdb,
    "folder": read_folder,
}
"""Reader of each dataset name."""

LAYOUTS: dict[str, str] = {
    "affectnet": affectnet.LAYOUT,
    "afew_va": afew_va.LAYOUT,
    "imfdb": imfdb.LAYOUT,
    "folder": folder.LAYOUT,
}
"""The on-disk layout each reader expects, for error messages."""


def read_dataset(name: str, root: str | Path, **options) -> Records:
    """Read dataset ``name`` (a key of :data:`READERS`) under ``root`` with the reader's keyword ``options``.

    Raises ValueError for an unknown name (listing the known ones) and :class:`ReaderError` when ``root`` is
    not an existing folder (naming it and the expected layout) or holds bad input.
    """
    if name not in READERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(READERS)}")
    check_root(root, name, LAYOUTS[name])
    return READERS[name](root, **options)


__all__ = [
    "LAYOUTS",
    "READERS",
    "ReaderError",
    "Records",
    "read_afew_va",
    "read_affectnet",
    "read_dataset",
    "read_folder",
    "read_imfdb",
]
