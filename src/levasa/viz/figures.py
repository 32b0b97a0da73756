"""Matplotlib figures of an evaluation (arrays in, a Figure out; the caller saves or logs it).

Figures are built with matplotlib's object API (no pyplot), so no display backend is involved.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from sklearn.manifold import TSNE

from levasa.vocabulary import EMOTIONS

COLOURS = matplotlib.colormaps["tab10"].colors


def _scatter_by_emotion(ax, points: np.ndarray, emotion: np.ndarray) -> None:
    """Points ``[N, 2]`` coloured by class (grey for unknown), with a legend of the classes present."""
    unknown = emotion < 0
    if unknown.any():
        ax.scatter(*points[unknown].T, s=6, c="0.7", label="unknown")
    for index in np.unique(emotion[~unknown]):
        chosen = emotion == index
        ax.scatter(*points[chosen].T, s=6, color=COLOURS[index % 10], label=EMOTIONS[index])


def circumplex_figure(readout: np.ndarray, truth: np.ndarray, emotion: np.ndarray) -> Figure:
    """The model's VA readout ``[N, 2]`` beside the true VA ``[N, 2]``, both coloured by emotion."""
    fig = Figure(figsize=(10, 5))
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    circle = np.linspace(0, 2 * np.pi, 200)
    for ax, points, title in ((axes[0], readout, "model readout"), (axes[1], truth, "annotated VA")):
        ax.plot(np.cos(circle), np.sin(circle), color="0.8", lw=1)
        ax.axhline(0, color="0.85", lw=0.8)
        ax.axvline(0, color="0.85", lw=0.8)
        _scatter_by_emotion(ax, points, emotion)
        ax.set(title=title, xlabel="valence", xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), aspect="equal")
    axes[0].set_ylabel("arousal")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, frameon=False)
    fig.tight_layout()
    return fig


def tsne_figure(chunks: dict[str, np.ndarray], emotion: np.ndarray, seed: int = 0, max_points: int = 1000) -> Figure:
    """A 2-d t-SNE of each chunk ``[N, d]`` (at most ``max_points`` samples), coloured by emotion."""
    rows = np.random.default_rng(seed).permutation(len(emotion))[:max_points]
    fig = Figure(figsize=(5 * len(chunks), 5))
    axes = fig.subplots(1, len(chunks))
    for ax, (name, values) in zip(np.atleast_1d(axes), chunks.items(), strict=True):
        perplexity = min(30.0, max(2.0, (len(rows) - 1) / 3))
        embedded = TSNE(2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(values[rows])
        _scatter_by_emotion(ax, embedded, emotion[rows])
        ax.set(title=f"t-SNE of z_{name}", xticks=[], yticks=[])
    np.atleast_1d(axes)[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, frameon=False)
    fig.tight_layout()
    return fig


def image_figure(image: np.ndarray, title: str) -> Figure:
    """An image ``[3, H, W]`` in [0, 1] (a grid) as a figure with a title."""
    fig = Figure(figsize=(max(4, image.shape[2] / 60), max(2, image.shape[1] / 60)))
    ax = fig.subplots()
    ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1))
    ax.set(title=title, xticks=[], yticks=[])
    fig.tight_layout()
    return fig


def tradeoff_figure(alpha: np.ndarray, ccc: np.ndarray, psnr: np.ndarray, accuracy: np.ndarray) -> Figure:
    """Alignment (mean readout CCC), reconstruction (PSNR) and emotion-probe accuracy against alpha.

    Args are ``[J]`` arrays over the jobs of a sweep; alpha is drawn on a symmetric-log axis so that 0 shows.
    Jobs that share an alpha (seeds) are drawn as points, joined by their mean with a one-std error bar.
    """
    levels = np.unique(alpha)
    fig = Figure(figsize=(12, 4))
    axes = fig.subplots(1, 3, sharex=True)
    panels = (
        (ccc, "readout CCC (mean of V and A)"),
        (psnr, "reconstruction PSNR (dB)"),
        (accuracy, "emotion probe accuracy"),
    )
    for ax, (values, label) in zip(axes, panels, strict=True):
        groups = [values[alpha == a] for a in levels]
        mean = np.array([np.nanmean(g) if np.isfinite(g).any() else np.nan for g in groups])
        std = np.array([np.nanstd(g, ddof=1) if np.isfinite(g).sum() > 1 else 0.0 for g in groups])
        ax.errorbar(levels, mean, yerr=std, marker="o", capsize=3)
        if len(levels) < len(alpha):
            ax.scatter(alpha, values, s=10, color="0.5", zorder=3)
        ax.set(xscale="symlog", xlabel="alpha (alignment weight)", ylabel=label)
        ax.grid(alpha=0.3)
    fig.suptitle("alignment / reconstruction trade-off over the sweep")
    fig.tight_layout()
    return fig


def pareto_figure(
    x: np.ndarray,
    y: np.ndarray,
    front: np.ndarray,
    labels: Sequence[str],
    axes: Sequence[str],
    directions: Sequence[str],
) -> Figure:
    """The jobs of a sweep on the plane of two objectives, the non-dominated ones (``front``, a boolean mask)
    highlighted and joined in order, the others grey; each point labelled (``labels``: the job numbers).

    ``axes`` are the two objectives' names and ``directions`` how each is optimised (``maximize`` / ``minimize``),
    said on the axis with an arrow towards the better end.
    """
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    ax.scatter(x[~front], y[~front], s=30, color="0.65", label="dominated", zorder=2)
    order = np.argsort(x[front])
    ax.plot(x[front][order], y[front][order], "-o", color="C3", markersize=7, label="Pareto front", zorder=3)
    for xi, yi, label in zip(x, y, labels, strict=True):
        if np.isfinite(xi) and np.isfinite(yi):
            ax.annotate(str(label), (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7, color="0.3")
    arrows = {"maximize": "higher is better", "minimize": "lower is better"}
    ax.set(xlabel=f"{axes[0]} ({arrows[directions[0]]})", ylabel=f"{axes[1]} ({arrows[directions[1]]})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"Pareto front of the sweep: {int(front.sum())} of {len(front)} jobs non-dominated")
    fig.tight_layout()
    return fig
