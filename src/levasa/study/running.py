"""Every run of the study: ``train(cfg)`` then ``evaluate(cfg)`` on the composed configs of ``python train.py``
and ``python evaluate.py``, in one process, each into its own run directory (``<output_dir>/<analogue>/<model>
[_alpha<a>]/seed<k>``, the evaluation in ``eval/``), then docs/RESULTS.md and its figure.

A run already trained and evaluated with the same settings is read back, not redone, so an interrupted study
resumes where it stopped (``rerun=true`` redoes everything).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from levasa.config import compose_config
from levasa.evaluation.outputs import save_figure
from levasa.io import write_text_atomic
from levasa.jobs.evaluation import evaluate
from levasa.jobs.training import train
from levasa.models.checkpoint import checkpoint_differences, file_sha256
from levasa.study.rendering import render_results
from levasa.study.runs import ACCURACY_VA, PSNR, Run, mean_ccc, measure, sweep_runs
from levasa.viz.figures import tradeoff_figure

log = logging.getLogger(__name__)

SAME_RUN_KEYS = ("model", "data", "alpha", "beta", "seed", "trainer.max_epochs")
"""A finished run is read back only when its checkpoint was trained with these settings of the study's config."""


def study_jobs(cfg: DictConfig) -> list[tuple[str, str, float, int]]:
    """(analogue, model, alpha, seed) of every run: each model at ``cfg.alpha`` on each analogue, then the
    alpha sweep (its point at ``cfg.alpha`` is the main grid's run)."""
    seeds = list(cfg.seeds)[: 1 if cfg.fast else None]
    jobs = [(a, m, float(cfg.alpha), s) for a in cfg.analogues for m in cfg.models for s in seeds]
    alphas = cfg.sweep.fast_alphas if cfg.fast else cfg.sweep.alphas
    jobs += [(cfg.sweep.analogue, cfg.sweep.model, float(x), s) for x in alphas if x != cfg.alpha for s in seeds]
    return jobs


def run_directory(cfg: DictConfig, analogue: str, model: str, alpha: float, seed: int) -> Path:
    """Where one run trains and evaluates: the model's name, suffixed with alpha off the main grid's."""
    name = model if alpha == cfg.alpha else f"{model}_alpha{alpha:g}"
    return Path(cfg.output_dir) / analogue / name / f"seed{seed}"


def train_overrides(cfg: DictConfig, analogue: str, model: str, alpha: float, seed: int, out: Path) -> list[str]:
    """The ``python train.py`` overrides of one run, writing into ``out``."""
    epochs = cfg.fast_epochs if cfg.fast else cfg.epochs
    return [
        f"experiment={analogue}",
        *cfg.models[model],
        f"alpha={alpha:g}",
        f"seed={seed}",
        f"trainer.max_epochs={epochs}",
        *cfg.train_overrides,
        f"paths.output_dir={out}",
    ]


def finished(out: Path, train_cfg: DictConfig) -> bool:
    """Whether ``out`` holds an evaluated run trained with ``train_cfg``'s settings (``SAME_RUN_KEYS``) whose
    evaluation was computed from the checkpoint now there (its SHA-256, recorded in metrics.json): a study run again
    with other settings (``fast=true``, other epochs) into the same directory retrains, and so does a run whose
    retraining was interrupted after writing a new ``best.ckpt`` beside the old evaluation."""
    ckpt, report = out / "checkpoints" / "best.ckpt", out / "eval" / "metrics.json"
    if not (ckpt.is_file() and report.is_file()):
        return False
    if checkpoint_differences(ckpt, OmegaConf.to_container(train_cfg, resolve=True), SAME_RUN_KEYS):
        return False
    try:
        recorded = json.loads(report.read_text())["run"]["checkpoint_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    if recorded != file_sha256(ckpt):
        log.warning("%s was not computed from %s as it is now: the run is trained and evaluated again", report, ckpt)
        return False
    return True


def clear_run(out: Path) -> None:
    """Remove what an earlier training of the run left in ``out`` (its evaluation first, then its metrics.json and
    checkpoints), so that nothing of it is read back with the new run's checkpoint."""
    for path in (out / "eval", out / "metrics.json", out / "checkpoints"):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run_one(cfg: DictConfig, analogue: str, model: str, alpha: float, seed: int) -> Run:
    """Train and evaluate one run (or read it back when it was finished with the same settings)."""
    out = run_directory(cfg, analogue, model, alpha, seed)
    report = out / "eval" / "metrics.json"
    train_cfg = compose_config("train", train_overrides(cfg, analogue, model, alpha, seed, out))
    trained = bool(cfg.rerun) or not finished(out, train_cfg)
    if trained:
        clear_run(out)
        train(train_cfg)
        evaluate(
            compose_config(
                "evaluate",
                [
                    f"ckpt={out / 'checkpoints' / 'best.ckpt'}",
                    f"seed={seed}",
                    f"paths.output_dir={out / 'eval'}",
                    *cfg.evaluate_overrides,
                ],
            )
        )
    return Run(analogue, model, alpha, seed, out, json.loads(report.read_text()), trained)


def run_study(cfg: DictConfig) -> list[Run]:
    """Every run of the study, then docs/RESULTS.md (``cfg.results``) and its figure; returns the runs."""
    study_config_check(cfg)
    started = time.perf_counter()
    runs = [run_one(cfg, *job) for job in tqdm(study_jobs(cfg), desc="reproduction study runs")]
    minutes = (time.perf_counter() - started) / 60
    results = Path(cfg.results)
    figure = results.parent / "figures" / "results_tradeoff.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    sweep = sweep_runs(cfg, runs)
    curves = (np.array([measure(r, metric) for r in sweep]) for metric in (mean_ccc, PSNR, ACCURACY_VA))
    save_figure(tradeoff_figure(np.array([r.alpha for r in sweep]), *curves), figure)
    write_text_atomic(results, render_results(cfg, runs, minutes, figure.relative_to(results.parent)))
    print(f"Results: {results} ({len(runs)} runs, {minutes:.1f} min)")
    return runs


def study_config_check(cfg: DictConfig) -> None:
    """Clear errors for a study config that cannot run."""
    unknown = [m for m in [cfg.sweep.model] if m not in cfg.models]
    if unknown:
        raise ValueError(f"sweep.model {unknown[0]!r} is not one of models: {list(cfg.models)}")
    if cfg.sweep.analogue not in cfg.analogues:
        raise ValueError(f"sweep.analogue {cfg.sweep.analogue!r} is not one of analogues: {list(cfg.analogues)}")
    if not cfg.seeds:
        raise ValueError("seeds is empty: give at least one seed")
