"""The one error type of bad user input (dataset files, label files, images), importing nothing heavy."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input; the message names the file, and line or key, where there is one.

    Subclassed by :class:`levasa.data.readers.records.ReaderError`, :class:`levasa.annotation.labels.AnnotationError`
    and :class:`levasa.data.images.ImageError`; catching ``InputError`` (or ``ValueError``) catches them all.
    """
