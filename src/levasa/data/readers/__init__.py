"""Readers of the official on-disk dataset formats, each parsing annotation files into :class:`Records`.

``read_affectnet`` (2017 or 2021 release), ``read_afew_va``, ``read_imfdb``, ``read_fer2013`` (FER or FER+
labels), ``read_rafdb`` (RAF-DB basic) and ``read_folder`` (one's own: class folders, a label file or name
patterns) each take the dataset root and their keyword options; a ``conf/data/<name>.yaml`` names its reader as
``reader._target_``. Each checks that the root is a folder, naming the layout it expects.
"""

from __future__ import annotations

from levasa.data.readers.afew_va import read_afew_va
from levasa.data.readers.affectnet import read_affectnet
from levasa.data.readers.fer2013 import read_fer2013
from levasa.data.readers.folder import read_folder
from levasa.data.readers.imfdb import read_imfdb
from levasa.data.readers.rafdb import read_rafdb
from levasa.data.readers.records import ReaderError, Records

__all__ = [
    "ReaderError",
    "Records",
    "read_afew_va",
    "read_affectnet",
    "read_fer2013",
    "read_folder",
    "read_imfdb",
    "read_rafdb",
]
