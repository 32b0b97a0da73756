"""The first stage of an evaluation: encode a split once (posterior means per chunk, the VA readout, the labels and
the true factors, as numpy); every later stage reads these arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from levasa.data.dataset import FaceArrayDataset
from levasa.models.module import LatentVAModule


@dataclass
class Latents:
    """A dataset seen through a model. Arrays have ``N`` rows.

    Attributes:
        chunks: posterior means per chunk name (``"v"``, ``"a"``, ``"z"``), each ``[N, d]``.
        readout: the model's VA estimate ``[N, 2]``, or None for a model without one (Vanilla).
        va: labels ``[N, 2]`` (NaN = unknown); emotion ``[N]`` (-1 = unknown); keys ``[N]``; subject ``[N]``.
        factors: true generative factors ``[N, K]`` when the data has them, with ``factor_names``.
    """

    chunks: dict[str, np.ndarray]
    readout: np.ndarray | None
    va: np.ndarray
    emotion: np.ndarray
    keys: list[str]
    subject: np.ndarray
    factors: np.ndarray | None
    factor_names: tuple[str, ...]

    def features(self, name: str) -> np.ndarray:
        """Feature set by name: ``z_v``, ``z_a``, ``z_z``, ``z_va`` (v and a) or ``z_all``."""
        parts = {"z_v": "v", "z_a": "a", "z_z": "z", "z_va": "va", "z_all": "vaz"}
        if name not in parts:
            raise ValueError(f"feature set must be one of {list(parts)}, found {name!r}")
        return np.concatenate([self.chunks[c] for c in parts[name]], axis=1)


FEATURE_SETS = ("z_v", "z_a", "z_z", "z_va", "z_all")


@torch.no_grad()
def encode_dataset(
    module: LatentVAModule, dataset: FaceArrayDataset, batch_size: int = 256, rows: np.ndarray | None = None
) -> Latents:
    """Posterior means and readout of every sample of ``dataset``, or of its ``rows`` in that order (module in
    eval mode, no gradients)."""
    module.eval()
    chunks: dict[str, list[np.ndarray]] = {"v": [], "a": [], "z": []}
    readout: list[np.ndarray] = []
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    batches = DataLoader(dataset, batch_size=batch_size, sampler=rows.tolist())
    for batch in tqdm(batches, desc=f"encoding {len(rows)} faces", leave=False):
        enc = module.encode(batch["image"].to(module.device))
        for name in chunks:
            chunks[name].append(getattr(enc, name).mu.cpu().numpy())
        if module.has_readout:
            readout.append(module.readout(enc).cpu().numpy())
    return Latents(
        chunks={name: np.concatenate(parts) for name, parts in chunks.items()},
        readout=np.concatenate(readout) if readout else None,
        va=dataset.va.numpy()[rows],
        emotion=dataset.emotion.numpy()[rows],
        keys=[dataset.keys[i] for i in rows],
        subject=dataset.subject.numpy()[rows],
        factors=None if dataset.factors is None else dataset.factors[rows],
        factor_names=dataset.factor_names,
    )


def subsample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """At most ``max_rows`` seeded random row indices of ``n``, in order (all of them when there are fewer)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:max_rows])
