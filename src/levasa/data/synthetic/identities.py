"""Identity nuisance factors: the renderer's factor columns, their ranges and their sampling."""

from __future__ import annotations

import numpy as np

from levasa.checks import check_integer

NUISANCE_NAMES: tuple[str, ...] = (
    "skin_tone",  # 0 (dark) .. 1 (pale)
    "face_aspect",  # face width / height
    "hair_tone",  # 0 (black) .. 1 (blond)
    "hair_warmth",  # 0 (ash) .. 1 (auburn)
    "hair_length",  # 0 (short) .. 1 (below the chin)
    "hair_volume",  # 0 (flat) .. 1 (bushy)
    "fringe",  # 0 (high hairline) .. 1 (low fringe)
    "hair_part",  # fringe tilt, -1 .. 1
    "bg_red",  # background colour, 0 .. 1 per channel
    "bg_green",
    "bg_blue",
    "pos_x",  # face centre offset, fraction of the image size
    "pos_y",
    "scale",  # head size factor
    "rotation",  # in-plane rotation, radians
    "light_angle",  # direction of the lighting gradient, radians
    "light_strength",  # relative brightness change from the image centre to its edge
    "noise_std",  # pixel noise standard deviation, intensity units (0 .. 1)
)
"""Names of the nuisance factor columns (``F`` of them), in order."""

NUISANCE_RANGES = np.array(
    [
        (0.0, 1.0),
        (0.74, 0.92),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (-1.0, 1.0),
        (0.35, 0.68),
        (0.35, 0.68),
        (0.35, 0.68),
        (-0.03, 0.03),
        (-0.02, 0.02),
        (0.93, 1.08),
        (-0.18, 0.18),
        (0.0, 2 * np.pi),
        (0.0, 0.25),
        (0.0, 0.03),
    ]
)
"""Uniform sampling ranges ``[F, 2]`` (low, high) of the factors, in :data:`NUISANCE_NAMES` order."""


def sample_identities(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` identities: float32 ``[n, F]`` nuisance factors, uniform in their ranges."""
    check_integer("n", n)
    low, high = NUISANCE_RANGES[:, 0], NUISANCE_RANGES[:, 1]
    return (low + (high - low) * rng.random((n, len(NUISANCE_NAMES)))).astype(np.float32)
