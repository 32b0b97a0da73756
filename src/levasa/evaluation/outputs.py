"""The last stage of an evaluation: PNG figures, TensorBoard (figures and the latents in its embedding projector),
metrics.json and report.md, each written atomically into the evaluation's directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from torch.utils.tensorboard import SummaryWriter

from levasa.evaluation.encode import Latents
from levasa.evaluation.report import render_report
from levasa.evaluation.sections.base import Section
from levasa.io import write_atomic, write_json_atomic, write_text_atomic
from levasa.vocabulary import EMOTIONS


def save_figure(fig: Figure, path: Path) -> None:
    """Write a matplotlib figure as PNG, atomically."""
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"), binary=True)


def write_figures(out_dir: Path, figures: Mapping[str, Figure], test: Latents, images: torch.Tensor) -> None:
    """Figures as PNG files and in TensorBoard, and the latents of ``images`` in TensorBoard's embedding projector."""
    writer = SummaryWriter(str(out_dir / "tensorboard"))
    for name, fig in figures.items():
        save_figure(fig, out_dir / f"{name}.png")
        writer.add_figure(f"eval/{name}", fig)
    labels = ["unknown" if e < 0 else EMOTIONS[e] for e in test.emotion[: len(images)]]
    writer.add_embedding(test.features("z_all")[: len(images)], metadata=labels, label_img=images, tag="z_all")
    writer.close()


def write_results(
    out_dir: Path, metrics: dict[str, Any], sections: Mapping[str, Section], figures: Mapping[str, Figure], title: str
) -> Path:
    """metrics.json and report.md (linking the PNG figures); returns the report's path."""
    write_json_atomic(out_dir / "metrics.json", metrics)
    report = out_dir / "report.md"
    write_text_atomic(report, render_report(metrics, sections, {n: f"{n}.png" for n in figures}, title))
    return report
