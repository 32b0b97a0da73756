"""The VA-plane figure of the synthetic faces (``docs/synthetic_faces.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from levasa.annotation.anchors import affectnet_anchor
from levasa.checks import check_integer
from levasa.data.synthetic.identities import NUISANCE_NAMES, NUISANCE_RANGES, sample_identities
from levasa.data.synthetic.render import MIN_IMAGE_SIZE, render


def va_grid_figure(path: str | Path, image_size: int = 64, steps: int = 9, seed: int = 0) -> None:
    """Write a PNG: one identity's faces over the VA plane (valence left to right, arousal bottom to top),
    and beside it several identities at each class's anchor centre. Pixel noise is off, for legibility."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_integer("image_size", image_size, MIN_IMAGE_SIZE)
    check_integer("steps", steps)
    rng = np.random.default_rng(seed)
    anchor, n_ids = affectnet_anchor(), 6
    identity, others = sample_identities(1, rng), sample_identities(n_ids, rng)
    upright = [NUISANCE_NAMES.index(name) for name in ("pos_x", "pos_y", "rotation", "noise_std", "scale")]
    identity[:, upright] = (0, 0, 0, 0, NUISANCE_RANGES[NUISANCE_NAMES.index("scale"), 1])
    others[:, NUISANCE_NAMES.index("noise_std")] = 0
    levels = np.linspace(-1, 1, steps, dtype=np.float32)
    va = np.stack(np.meshgrid(levels, levels[::-1]), axis=-1).reshape(-1, 2)
    grid = _mosaic(render(va, np.repeat(identity, len(va), axis=0), image_size), steps, steps)
    centres = np.repeat(anchor.mean, n_ids, axis=0).astype(np.float32)
    faces = render(centres, np.tile(others, (len(anchor.classes), 1)), image_size)
    faces = _mosaic(faces, len(anchor.classes), n_ids)

    fig, (ax_grid, ax_ids) = plt.subplots(1, 2, figsize=(16, 7.8), width_ratios=(1.05, 1))
    half = 1 / max(steps - 1, 1)
    ax_grid.imshow(grid, extent=(-1 - half, 1 + half, -1 - half, 1 + half))
    ax_grid.set(xlabel="valence", ylabel="arousal", title="one identity over the valence-arousal plane")
    ax_ids.imshow(faces)
    ax_ids.set_yticks((np.arange(len(anchor.classes)) + 0.5) * image_size, anchor.classes)
    ax_ids.set_xticks((np.arange(n_ids) + 0.5) * image_size, [f"id {i}" for i in range(n_ids)])
    ax_ids.set_title("identities (columns) at each class's anchor centre (rows)")
    fig.suptitle(f"levasa circumplex faces ({image_size}x{image_size}, pixel noise off)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mosaic(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Tile ``rows * cols`` images ``[N, S, S, 3]`` row by row into one ``[rows * S, cols * S, 3]``."""
    s = images.shape[1]
    return images.reshape(rows, cols, s, s, 3).transpose(0, 2, 1, 3, 4).reshape(rows * s, cols * s, 3)
