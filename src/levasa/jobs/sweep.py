"""``evaluate_sweep(cfg)``: every job of a Hydra multirun directory evaluated, sweep.csv and the trade-off plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from levasa.evaluation.outputs import save_figure
from levasa.io import write_csv_atomic
from levasa.jobs.evaluation import evaluate
from levasa.models.checkpoint import read_checkpoint, stored_config
from levasa.viz.figures import tradeoff_figure


def sweep_jobs(sweep_dir: Path) -> list[Path]:
    """The numbered job directories of a Hydra multirun directory, in job order."""
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep directory not found: {sweep_dir}")
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    if not jobs:
        raise ValueError(f"{sweep_dir} holds no numbered job directories: is it a Hydra multirun directory?")
    return jobs


def sweep_row(job: Path, config: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One line of sweep.csv: the job's weights (from its stored ``config``) and its headline figures."""
    alignment = metrics["alignment"]
    ccc = [alignment[a]["ccc"] for a in ("valence", "arousal")] if "valence" in alignment else [float("nan")] * 2
    probe = metrics["emotion_probe"].get("z_va", {})
    return {
        "job": job.name,
        "alignment": (config["model"].get("alignment") or {"_target_": "vanilla"})["_target_"].rsplit(".", 1)[-1],
        "alpha": float(config["alpha"]),
        "beta": float(config["beta"]),
        "ccc_v": ccc[0],
        "ccc_a": ccc[1],
        "psnr": metrics["reconstruction"]["psnr"],
        "recon_mse": metrics["reconstruction"]["mse"],
        "emotion_acc_z_va": probe.get("accuracy", float("nan")),
    }


def evaluate_sweep(cfg: DictConfig, overrides: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Evaluate every job of the multirun directory ``cfg.sweep``; writes sweep.csv and tradeoff.png.
    ``overrides`` apply to every job's own config, as in :func:`~levasa.jobs.evaluation.evaluate`.

    Each job's checkpoint is read once; its full report goes to ``<output_dir>/<job>/``.
    """
    out_dir = Path(cfg.paths.output_dir)
    rows = []
    for job in tqdm(sweep_jobs(Path(cfg.sweep)), desc="evaluating sweep jobs"):
        ckpt = job / "checkpoints" / "best.ckpt"
        checkpoint = read_checkpoint(ckpt)
        job_cfg = OmegaConf.merge(cfg, {"ckpt": str(ckpt), "paths": {"output_dir": str(out_dir / job.name)}})
        rows.append(sweep_row(job, stored_config(checkpoint), evaluate(job_cfg, overrides, checkpoint)))
    write_csv_atomic(out_dir / "sweep.csv", rows)
    arrays = {key: np.array([row[key] for row in rows], dtype=float) for key in ("alpha", "ccc_v", "ccc_a", "psnr")}
    accuracy = np.array([row["emotion_acc_z_va"] for row in rows], dtype=float)
    ccc = (arrays["ccc_v"] + arrays["ccc_a"]) / 2
    save_figure(tradeoff_figure(arrays["alpha"], ccc, arrays["psnr"], accuracy), out_dir / "tradeoff.png")
    print(f"Sweep table: {out_dir / 'sweep.csv'}")
    return rows
