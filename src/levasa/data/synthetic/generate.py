"""Labelled synthetic sets: identities seen with several expressions, labels hidden per variant, and their cache.

Labels mimic real data (:mod:`levasa.annotation.sampling`); variants expose both label kinds, VA only (AFEW-like,
steps of 0.1) or categories only (IMFDB-like).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import sys
import time
import zipfile
from contextlib import suppress
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from levasa.annotation import sampling
from levasa.annotation.sampling import sample_subject_labels, stream_seed
from levasa.checks import check_integer
from levasa.data.synthetic import identities, stats
from levasa.data.synthetic import render as rasteriser
from levasa.data.synthetic.identities import sample_identities
from levasa.data.synthetic.render import MIN_IMAGE_SIZE, render
from levasa.data.synthetic.stats import expression_variance_share
from levasa.io import write_atomic

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
"""Bumped whenever the rendering or the sampling changes, so that stale caches are not reused."""
STALE_TEMPORARY_SECONDS = 3600.0
"""A cache write's temporary file untouched this long was left by a killed process (a write takes seconds)."""

VARIANTS = ("both", "va", "category")
"""Label variants: AffectNet-like (both), AFEW-like (VA only), IMFDB-like (category only)."""


@dataclass
class SyntheticFaces:
    """A generated set. ``N`` images of ``F = len(NUISANCE_NAMES)`` nuisance factors each.

    Attributes:
        images: uint8 ``[N, H, W, 3]``.
        va: float32 ``[N, 2]`` observed (valence, arousal) in ``[-1, 1]``; NaN where the variant hides VA.
        emotion: int64 ``[N]`` observed index into ``EMOTIONS``; -1 where the variant hides it.
        subject: int64 ``[N]`` identity id.
        keys: str ``[N]`` stable ids ``id<identity>_<expression>``.
        true_va: float32 ``[N, 2]`` the VA actually rendered.
        true_emotion: int64 ``[N]`` the class the VA was drawn from.
        nuisance: float32 ``[N, F]`` the nuisance factors actually rendered.
        expression_share: share of pixel variance due to expression, NaN if not computed.
    """

    images: np.ndarray
    va: np.ndarray
    emotion: np.ndarray
    subject: np.ndarray
    keys: np.ndarray
    true_va: np.ndarray
    true_emotion: np.ndarray
    nuisance: np.ndarray
    expression_share: float = float("nan")


def generate(
    n_identities: int = 200,
    expressions_per_identity: int = 24,
    image_size: int = 64,
    variant: str = "both",
    seed: int = 0,
    label_noise: float = 0.0,
) -> SyntheticFaces:
    """Generate ``n_identities`` identities, each seen with ``expressions_per_identity`` expressions.

    Identity ``i``'s images are contiguous; its nuisance factors are shared, its pixel noise is not. The labels
    are :func:`~levasa.annotation.sampling.sample_subject_labels` of the same seed, so they can be drawn without
    rendering. ``variant`` hides labels: ``"va"`` keeps VA only, rounded to AFEW's integer steps of 0.1 (emotion
    -1); ``"category"`` keeps the class only (VA NaN); ``"both"`` keeps both. ``expression_share`` is measured on
    separate draws at the same size (:func:`~levasa.data.synthetic.stats.expression_variance_share`).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, found {variant!r}")
    check_integer("n_identities", n_identities)
    check_integer("expressions_per_identity", expressions_per_identity)
    check_integer("image_size", image_size, MIN_IMAGE_SIZE)
    labels = sample_subject_labels(n_identities, expressions_per_identity, seed, label_noise)
    nuisance = sample_identities(n_identities, np.random.default_rng(stream_seed(seed, "identities")))[labels.subject]
    noise_seed = int(stream_seed(seed, "pixel_noise").generate_state(1)[0])
    images = render(labels.true_va, nuisance, image_size, seed=noise_seed)
    n, va, emotion = len(labels.subject), labels.va, labels.emotion.copy()
    if variant == "va":
        va, emotion = np.round(va * 10) / 10, np.full(n, -1, dtype=np.int64)
    elif variant == "category":
        va = np.full((n, 2), np.nan, dtype=np.float32)
    expr_index = np.tile(np.arange(expressions_per_identity), n_identities)
    keys = np.array([f"id{s:04d}_{e:03d}" for s, e in zip(labels.subject, expr_index, strict=True)])
    return SyntheticFaces(
        images=images,
        va=va.astype(np.float32),
        emotion=emotion,
        subject=labels.subject,
        keys=keys,
        true_va=labels.true_va,
        true_emotion=labels.emotion,
        nuisance=nuisance,
        expression_share=expression_variance_share(image_size=image_size, seed=seed),
    )


def _source_digest() -> str:
    """Digest of the sources the arrays depend on: a cache made by other code is never reused, even when
    ``GENERATOR_VERSION`` was not bumped."""
    digest = hashlib.sha256()
    for module in (sampling, identities, rasteriser, stats, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def load_or_generate(cache_dir: str | Path | None, **generate_kwargs) -> SyntheticFaces:
    """:func:`generate`, cached as ``.npz`` in ``cache_dir`` (None: no cache), keyed by the parameters.

    An unreadable cache file is regenerated; the file is written atomically, so concurrent runs never read a
    partial one.
    """
    bound = inspect.signature(generate).bind(**generate_kwargs)
    bound.apply_defaults()
    if cache_dir is None:
        return generate(**bound.arguments)
    key = json.dumps(
        {**bound.arguments, "version": GENERATOR_VERSION, "source": _source_digest()}, sort_keys=True, default=str
    )
    path = Path(cache_dir) / f"synthetic_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {f.name: z[f.name] for f in fields(SyntheticFaces)}
            return SyntheticFaces(**{**arrays, "expression_share": float(arrays["expression_share"])})
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            log.warning("synthetic cache %s is unreadable (%s); regenerating it", path, err)
    faces = generate(**bound.arguments)
    arrays = {f.name: getattr(faces, f.name) for f in fields(SyntheticFaces)}
    remove_stale_temporaries(path.parent)
    write_atomic(path, lambda f: np.savez(f, **arrays), binary=True)
    return faces


def remove_stale_temporaries(cache_dir: Path) -> list[Path]:
    """Delete the temporary files of cache writes that a killed process left in ``cache_dir`` (hidden
    ``.synthetic_*.npz.*.tmp`` files untouched for :data:`STALE_TEMPORARY_SECONDS`; a write in progress is left
    alone). Returns the files removed."""
    removed = []
    for tmp in sorted(cache_dir.glob(".synthetic_*.npz.*.tmp")) if cache_dir.is_dir() else []:
        with suppress(OSError):
            if time.time() - tmp.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                tmp.unlink()
                removed.append(tmp)
                log.warning("removed %s, left by a synthetic cache write that was killed", tmp)
    return removed
