"""Augmentations of training batches on the uint8 faces: a random horizontal flip and a small random shift.

They run on a whole batch at once (``uint8 [B, 3, H, W]``, before the conversion to float), in the process that
reads the batch, and only on the training loader (:class:`AugmentedFaces`); the validation and test loaders, the
evaluation and the probes see the faces as they are. The random draws come from torch's global generator: seeded by
the run's seed (``L.seed_everything``), carried in checkpoints by :class:`levasa.callbacks.RNGStateCheckpoint`, and
in loader worker processes seeded per worker by the DataLoader. With both options off nothing is drawn and the
batches are bit-identical to a run without augmentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch.utils.data import Dataset


@dataclass(frozen=True)
class Augment:
    """What is done to each training batch (``data.augment``).

    Attributes:
        flip: mirror each face left-right with probability 1/2 (about half of every batch).
        max_shift: translate each face by a random integer ``(dy, dx)`` in ``[-max_shift, max_shift]`` pixels,
            the uncovered border black (zero padding, as torchvision's ``RandomCrop(padding=...)``); 0: no shift.
            In pixels of ``image_size``: scale it with the image size (4 at 64 px is 6%).
    """

    flip: bool = False
    max_shift: int = 0
    _buffers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.flip, bool | np.bool_):
            raise ValueError(f"data.augment.flip must be true or false, found {self.flip!r}")
        shift = self.max_shift
        if isinstance(shift, bool) or not isinstance(shift, int | np.integer) or shift < 0:
            raise ValueError(f"data.augment.max_shift must be a non-negative integer (pixels), found {shift!r}")

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | Augment | None, image_size: int) -> Augment:
        """``data.augment`` (a mapping, None for none) checked against the image size."""
        if options is None:
            augment = cls()
        elif isinstance(options, Augment):
            augment = options
        else:
            unknown = set(options) - {"flip", "max_shift"}
            if unknown:
                raise ValueError(f"data.augment has unknown options {sorted(unknown)}: it takes flip and max_shift")
            augment = cls(**dict(options))
        if 2 * augment.max_shift >= image_size:
            raise ValueError(
                f"data.augment.max_shift={augment.max_shift} must be below half of data.image_size={image_size}"
            )
        return augment

    @property
    def active(self) -> bool:
        return bool(self.flip) or self.max_shift > 0

    def batch(self, faces: np.ndarray, slots: np.ndarray | None = None) -> torch.Tensor:
        """The augmented batch uint8 ``[B, 3, H, W]`` of ``faces`` (uint8 ``[B, H, W, 3]``, as the cache holds them),
        face ``j`` going to place ``slots[j]`` of the batch (None: ``j``), with fresh draws from torch's global
        generator: what :meth:`~levasa.data.dataset.FaceArrayDataset.pixels` returns for a training batch."""
        n = len(faces)
        shift = flip = None
        if self.max_shift > 0:
            shift = torch.randint(-self.max_shift, self.max_shift + 1, (2, n)).numpy()
        if self.flip:
            flip = np.flatnonzero((torch.rand(n) < 0.5).numpy())
        return _augmented(faces, slots, shift, flip, self.max_shift, self._buffers)


def augment_batch(faces: torch.Tensor, shift: np.ndarray | None = None, flip: np.ndarray | None = None) -> torch.Tensor:
    """``faces`` (uint8 ``[B, 3, H, W]``) with image ``b`` moved down by ``shift[0, b]`` and right by ``shift[1, b]``
    pixels (the uncovered border black) and, for ``b`` in ``flip``, then mirrored left-right: what
    :meth:`Augment.batch` does with its draws. A new contiguous tensor."""
    limit = 0 if shift is None else int(np.abs(shift).max(initial=0))
    return _augmented(faces.permute(0, 2, 3, 1).numpy(), None, shift, flip, limit, {})


def _augmented(
    faces: np.ndarray,
    slots: np.ndarray | None,
    shift: np.ndarray | None,
    flip: np.ndarray | None,
    limit: int,
    buffers: dict,
) -> torch.Tensor:
    """The shift is done while the faces are copied into place: each is written at its offset into a zeroed, padded
    buffer (one fancy assignment through a window view) whose middle is then read, as without augmentation, by the
    transposition to ``[B, 3, H, W]``; the flip reverses rows as uint64 words with their bytes swapped where the width
    is a multiple of 8 (eight pixels a word). Both cost about one pass over the uint8 batch."""
    n, h, w, c = faces.shape
    slots = np.arange(n) if slots is None else np.asarray(slots, dtype=np.int64)
    if shift is None or limit == 0:
        placed = np.empty((n, h, w, c), dtype=np.uint8)
        placed[slots] = faces
    else:
        shape = (n, h + 2 * limit, w + 2 * limit, c)
        padded = buffers.get(shape)
        if padded is None:
            padded = buffers[shape] = np.zeros(shape, dtype=np.uint8)
        else:
            padded.fill(0)
        rows = padded.reshape(n * shape[1], shape[2] * c)
        windows = sliding_window_view(rows, (h, w * c), writeable=True)
        shift = np.asarray(shift, dtype=np.int64)
        windows[slots * shape[1] + limit + shift[0, slots], (limit + shift[1, slots]) * c] = faces.reshape(n, h, w * c)
        placed = padded[:, limit : limit + h, limit : limit + w]
    out = torch.from_numpy(placed).permute(0, 3, 1, 2).contiguous()
    if flip is not None and len(flip):
        _flip_rows(out.numpy(), np.asarray(flip, dtype=np.int64))
    return out


def _flip_rows(x: np.ndarray, rows: np.ndarray) -> None:
    """Mirror images ``rows`` of the contiguous uint8 ``x`` left-right in place."""
    if x.shape[-1] % 8 == 0 and np.little_endian:
        words = x.view(np.uint64)
        mirrored = words[rows][..., ::-1]
        mirrored.byteswap(inplace=True)
        words[rows] = mirrored
    else:
        x[rows] = x[rows][..., ::-1]


class AugmentedFaces(Dataset):
    """``dataset`` (a :class:`~levasa.data.dataset.FaceArrayDataset` or a pool of them) with ``augment`` applied
    to every batch it gives: the training loader's dataset. ``dataset`` itself is left as it is."""

    def __init__(self, dataset: Any, augment: Augment) -> None:
        self.dataset, self.augment = dataset, augment

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return self.dataset.samples(indices, self.augment)
