"""``evaluate_sweep(cfg)``: every job of a Hydra multirun directory evaluated, sweep.csv and the trade-off plot;
for a sweep with ``objectives`` (``hparams_search=optuna``) also each job's objective values and the Pareto front."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from levasa.evaluation.outputs import save_figure
from levasa.io import write_csv_atomic
from levasa.jobs.evaluation import evaluate
from levasa.metrics.pareto import pareto_front
from levasa.models.checkpoint import read_checkpoint, stored_config
from levasa.viz.figures import pareto_figure, tradeoff_figure

log = logging.getLogger(__name__)

OPTUNA_RESULTS = "optimization_results.yaml"
"""What Hydra's Optuna sweeper writes into the sweep directory at the end: its best trials (``solutions``, each
``params`` and ``values``, for several objectives; ``best_params`` and ``best_value`` for one)."""


def objective_values(metrics: Mapping[str, Any], objectives: Mapping[str, Any]) -> dict[str, float]:
    """Each objective of ``objectives`` (name -> ``{metrics: [...], direction: ...}``, train.yaml) from a run's
    final validation figures ``metrics``: the mean of its ``metrics``. These are what train.py returns to an
    optimising sweeper, in this order."""
    values = {}
    for name, spec in objectives.items():
        missing = [m for m in spec["metrics"] if m not in metrics]
        if missing:
            logged = sorted(k for k in metrics if k != "run")
            raise KeyError(
                f"objective {name!r} needs {missing}, which this run did not log (it logged {logged}); a Vanilla VAE "
                "(model=vanilla) has no val/align figures"
            )
        values[name] = float(np.mean([float(metrics[m]) for m in spec["metrics"]]))
    return values


def objective_directions(objectives: Mapping[str, Any]) -> list[str]:
    """The objectives' directions (``maximize`` / ``minimize``), in their order."""
    return [str(spec["direction"]) for spec in objectives.values()]


def objective_label(metrics: Sequence[str]) -> str:
    """What an objective's value is, for a figure's axis: its one metric, or the mean of its metrics."""
    return metrics[0] if len(metrics) == 1 else f"mean of {', '.join(metrics)}"


def read_optuna_results(sweep_dir: Path) -> dict[str, Any] | None:
    """The Optuna sweeper's ``optimization_results.yaml`` of ``sweep_dir``, or None when it has none."""
    path = sweep_dir / OPTUNA_RESULTS
    return OmegaConf.to_container(OmegaConf.load(path)) if path.is_file() else None  # type: ignore[return-value]


def searched_params(optuna: Mapping[str, Any] | None) -> list[str]:
    """The config keys an Optuna sweep searched, from its optimization_results.yaml (``optuna``; none: [])."""
    if not optuna:
        return []
    solutions = optuna.get("solutions") or [{"params": optuna.get("best_params") or {}}]
    return list(solutions[0]["params"])


def mark_front(
    rows: list[dict[str, Any]], objectives: Mapping[str, Any], optuna: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Add ``pareto`` (on the front of ``objectives`` or not) to the sweep's ``rows``, which hold each objective's
    value under its name; returns the front mask. Warns when the Optuna sweeper's own front (``optuna``, its
    optimization_results.yaml) holds other values."""
    values = np.array([[row[name] for name in objectives] for row in rows], dtype=float)
    front = pareto_front(values, objective_directions(objectives))
    for row, on in zip(rows, front, strict=True):
        row["pareto"] = bool(on)
    solutions = (optuna or {}).get("solutions")
    if solutions is not None:
        theirs = sorted(tuple(round(float(v), 6) for v in s["values"]) for s in solutions)
        ours = sorted(tuple(round(float(v), 6) for v in point) for point in values[front])
        if theirs != ours:
            log.warning("the Optuna sweeper's Pareto front %s differs from the jobs' metrics.json %s", theirs, ours)
    return front


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
    """Evaluate every job of the multirun directory ``cfg.sweep``; writes sweep.csv and tradeoff.png, and for a
    sweep whose jobs name ``objectives`` (``hparams_search=optuna``) their values, a ``pareto`` column (on the
    Pareto front of those objectives or not) and pareto.png (the first two objectives' plane).
    ``overrides`` apply to every job's own config, as in :func:`~levasa.jobs.evaluation.evaluate`.

    Each job's checkpoint is read once; its full report goes to ``<output_dir>/<job>/``. A job without a
    metrics.json (its training failed or was stopped: a failed Optuna trial) is left out, with a warning.
    """
    out_dir = Path(cfg.paths.output_dir)
    sweep_dir = Path(cfg.sweep)
    rows = []
    objectives: dict[str, Any] | None = None
    optuna = read_optuna_results(sweep_dir)
    searched = [key for key in searched_params(optuna) if key not in ("alpha", "beta")]  # those are columns already
    for job in tqdm(sweep_jobs(sweep_dir), desc="evaluating sweep jobs"):
        if not (job / "metrics.json").is_file():  # train.py writes it last
            log.warning("left out job %s: it has no metrics.json, its training did not finish (a failed trial?)", job)
            continue
        ckpt = job / "checkpoints" / "best.ckpt"
        checkpoint = read_checkpoint(ckpt)
        config = stored_config(checkpoint)
        job_cfg = OmegaConf.merge(cfg, {"ckpt": str(ckpt), "paths": {"output_dir": str(out_dir / job.name)}})
        if not rows:  # the sweep's objectives: its jobs differ only in the swept parameters
            objectives = config.get("objectives") or None
        rows.append(sweep_row(job, config, evaluate(job_cfg, overrides, checkpoint)))
        rows[-1].update({key: OmegaConf.select(OmegaConf.create(config), key) for key in searched})
        if objectives:  # the values the sweeper was given: the run's final validation figures
            rows[-1].update(objective_values(json.loads((job / "metrics.json").read_text()), objectives))
    if not rows:
        raise ValueError(f"no job of {sweep_dir} finished its training (none has a metrics.json)")
    if objectives:
        front = mark_front(rows, objectives, optuna)
        if len(objectives) >= 2:
            names = list(objectives)[:2]
            axes = [f"{name}: {objective_label(objectives[name]['metrics'])}" for name in names]
            points = [np.array([row[name] for row in rows], dtype=float) for name in names]
            labels = [row["job"] for row in rows]
            figure = pareto_figure(*points, front, labels, axes, objective_directions(objectives)[:2])
            save_figure(figure, out_dir / "pareto.png")
            print(f"Pareto front: {out_dir / 'pareto.png'} ({int(front.sum())} of {len(rows)} jobs)")
    write_csv_atomic(out_dir / "sweep.csv", rows)
    arrays = {key: np.array([row[key] for row in rows], dtype=float) for key in ("alpha", "ccc_v", "ccc_a", "psnr")}
    accuracy = np.array([row["emotion_acc_z_va"] for row in rows], dtype=float)
    ccc = (arrays["ccc_v"] + arrays["ccc_a"]) / 2
    save_figure(tradeoff_figure(arrays["alpha"], ccc, arrays["psnr"], accuracy), out_dir / "tradeoff.png")
    print(f"Sweep table: {out_dir / 'sweep.csv'}")
    return rows
