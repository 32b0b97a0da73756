"""``transfer(cfg)``: the plain function behind ``python transfer.py`` (transfer a file, or score the strategies)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.circumplex import circumplex_figure
from levasa.annotation.files import read_annotations, read_labelled_csv, write_annotations
from levasa.annotation.labels import AnnotationError, label_indices
from levasa.annotation.quality import evaluate_transfer, markdown_table
from levasa.annotation.sampling import sample_subject_labels
from levasa.annotation.strategies import CAT_TO_VA, VA_TO_CAT, categorical_to_va, discretize, va_to_categorical
from levasa.io import write_text_atomic
from levasa.vocabulary import EMOTIONS

log = logging.getLogger(__name__)


def transfer(cfg: DictConfig) -> dict[str, Any]:
    """Run ``cfg.mode``: ``transfer`` (a label or VA file to the other kind) or ``evaluate`` (the quality table)."""
    if cfg.mode == "transfer":
        return transfer_file(cfg)
    if cfg.mode == "evaluate":
        return evaluate(cfg)
    raise AnnotationError(f"mode must be 'transfer' or 'evaluate', found {cfg.mode!r}")


def transfer_file(cfg: DictConfig) -> dict[str, Any]:
    """Transfer ``cfg.input`` to the other label kind, write ``cfg.output`` and a circumplex PNG beside it.

    Transferred VA is clipped to ``[-1, 1]`` (only an anchor whose ellipse crosses the edge is affected).
    """
    if not cfg.input or not cfg.output:
        raise AnnotationError("transfer needs input=<labels or VA file> and output=<.json or .csv path>")
    ann = read_annotations(cfg.input, cfg.input_scale)
    anchor = resolve_anchor(cfg.anchor)
    if ann.labels is not None:
        strategy = cfg.strategy or "ellipse"
        _check_strategy(strategy, CAT_TO_VA, "labels")
        classes, keep = label_indices(ann.labels, ann.keys, source=str(ann.path), skip=cfg.skip_unknown)
        if classes.size == 0:
            raise AnnotationError(f"{ann.path}: no row has a known label")
        va = np.clip(categorical_to_va(classes, anchor, strategy, np.random.default_rng(cfg.seed)), -1, 1)
        keys, values = ann.keys[keep], discretize(va) if cfg.discretize else np.round(va, 6)
    else:
        strategy = cfg.strategy or "nearest"
        _check_strategy(strategy, VA_TO_CAT, "VA values")
        va, keys = ann.va, ann.keys
        classes = va_to_categorical(va, anchor, strategy, cfg.seed)
        values = np.asarray(EMOTIONS)[classes]
    output = Path(cfg.output)
    figure = output.with_suffix(".png")
    circumplex_figure(figure, anchor, va, classes, cfg.seed)
    write_annotations(output, keys, values)
    summary = class_summary(va, classes)
    print(f"{ann.path} -> {output} ({strategy}, anchor {cfg.anchor}); figure {figure}\n{summary_table(summary)}")
    return {"n": int(keys.size), "strategy": strategy, "output": str(output), "figure": str(figure), "classes": summary}


def _check_strategy(strategy: str, allowed: tuple[str, ...], kind: str) -> None:
    if strategy not in allowed:
        raise AnnotationError(f"strategy {strategy!r} does not apply to {kind}; expected one of {allowed}")


def class_summary(va: np.ndarray, classes: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per-class count and VA mean / std (``[2]`` each) of ``va`` ``[N, 2]`` grouped by ``classes`` ``[N]``."""
    k = len(EMOTIONS)
    count = np.bincount(classes, minlength=k).astype(np.float64)
    n = np.maximum(count, 1)[:, None]
    mean = np.stack([np.bincount(classes, va[:, j], k) for j in (0, 1)], axis=1) / n
    sq = np.stack([np.bincount(classes, va[:, j] ** 2, k) for j in (0, 1)], axis=1) / n
    std = np.sqrt(np.clip(sq - mean**2, 0, None))
    return {
        EMOTIONS[c]: {"count": int(count[c]), "va_mean": mean[c].round(4).tolist(), "va_std": std[c].round(4).tolist()}
        for c in np.flatnonzero(count)
    }


def summary_table(summary: dict[str, dict[str, Any]]) -> str:
    """The per-class summary as aligned text."""
    lines = [f"{'class':<9} {'count':>8} {'v mean':>7} {'v std':>6} {'a mean':>7} {'a std':>6}"]
    for name, s in summary.items():
        (mv, ma), (sv, sa) = s["va_mean"], s["va_std"]
        lines.append(f"{name:<9} {s['count']:>8} {mv:>7.3f} {sv:>6.3f} {ma:>7.3f} {sa:>6.3f}")
    return "\n".join(lines)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Score every strategy on labelled data (``cfg.input``, a CSV with both kinds, else the labels of the
    synthetic set of ``cfg.seed``, drawn without rendering it) and write the markdown table."""
    e = cfg.evaluate
    if cfg.input:
        va, emotion, subject = read_labelled_csv(cfg.input, cfg.input_scale)
        source = str(cfg.input)
    else:
        labels = sample_subject_labels(e.n_identities, e.expressions_per_identity, cfg.seed, e.label_noise)
        va, emotion, subject, source = labels.va, labels.emotion, labels.subject, "the synthetic set"
    scores = evaluate_transfer(va, emotion, subject, e.heldout_fraction, cfg.seed)
    table = markdown_table(scores)
    output = Path(cfg.output or Path(cfg.output_dir) / "transfer_quality.md")
    write_text_atomic(output, table)
    print(f"transfer quality on {source}: {len(va)} samples, {e.heldout_fraction:.0%} of subjects held out\n{table}")
    return {"output": str(output), "scores": scores, "n": len(va)}
