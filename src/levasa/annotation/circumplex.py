"""The circumplex figure of a transfer: the anchor's one-sigma ellipses and the transferred points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from levasa.annotation.anchors import Anchor
from levasa.io import write_atomic
from levasa.vocabulary import EMOTIONS

MAX_POINTS = 20_000
"""Points drawn at most (a seeded subsample), so that a figure of a million labels stays light."""


def circumplex_figure(path: str | Path, anchor: Anchor, va: np.ndarray, classes: np.ndarray, seed: int = 0) -> None:
    """Save a PNG of the anchor's ellipses and the points ``va`` ``[N, 2]`` coloured by class ``[N]`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    pick = np.random.default_rng(seed).permutation(len(va))[:MAX_POINTS]
    colours = plt.get_cmap("tab10")(np.arange(len(EMOTIONS)))
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(va[pick, 0], va[pick, 1], s=2, c=colours[classes[pick]], alpha=0.4, linewidths=0)
    for name, mean, std, k in zip(anchor.classes, anchor.mean, anchor.std, anchor.indices, strict=True):
        ax.add_patch(Ellipse(mean, 2 * std[0], 2 * std[1], fill=False, color=colours[k], lw=2))
        ax.annotate(name, mean, ha="center", va="center", fontsize=9, weight="bold")
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.6", ls="--"))
    ax.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="valence", ylabel="arousal", aspect="equal")
    ax.set_title(f"{len(va)} transferred points ({len(pick)} drawn)", fontsize=10)
    ax.axhline(0, color="0.8", lw=0.5)
    ax.axvline(0, color="0.8", lw=0.5)
    try:
        write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100), binary=True)
    finally:
        plt.close(fig)
