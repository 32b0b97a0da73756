"""``evaluate(cfg)``: a trained run on a held-out split, in stages: encode once -> sections -> figures -> outputs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import sklearn
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

import levasa
from levasa.evaluation.encode import encode_dataset, subsample_rows
from levasa.evaluation.figures import evaluation_figures
from levasa.evaluation.outputs import write_figures, write_results
from levasa.evaluation.sections.base import Context, Section
from levasa.io import staged_outputs
from levasa.jobs.runconfig import run_config
from levasa.models.checkpoint import file_sha256, module_from_checkpoint, read_checkpoint, trusted_config

HELD_OUT = ("val", "test")


def check_request(cfg: DictConfig) -> None:
    """Raise a clear error before anything is read when evaluate's own config asks for the impossible."""
    if not cfg.get("ckpt"):
        raise ValueError("give ckpt=PATH (a run's checkpoints/best.ckpt) or sweep=DIR (a multirun directory)")
    if cfg.split not in HELD_OUT:
        raise ValueError(f"split must be a held-out split, 'val' or 'test', found {cfg.split!r}")


def build_sections(cfg: DictConfig) -> dict[str, Section]:
    """The configured sections (``cfg.sections``: name -> a ``_target_`` node), in config order; a null entry
    (``sections.disentanglement=null``) leaves that section out."""
    return {name: instantiate(node) for name, node in cfg.sections.items() if node is not None}


def encoded_context(cfg: DictConfig, run_cfg: DictConfig, module: Any) -> Context:
    """Stage 1: the data of the run's (overridden) config, its training subsample and held-out split encoded once."""
    datamodule = instantiate(run_cfg.data)
    datamodule.prepare_data()
    datamodule.setup("test")
    held_out, fit_on = datamodule.datasets[cfg.split], datamodule.datasets["train"]
    if len(held_out) == 0 or len(fit_on) == 0:
        raise ValueError(f"the {cfg.split} or train split of {run_cfg.data._target_} is empty: nothing to evaluate")
    train = encode_dataset(module, fit_on, rows=subsample_rows(len(fit_on), cfg.probes.max_train, cfg.seed))
    test = encode_dataset(module, held_out)
    return Context(module, train, test, held_out.image_batch(), cfg.seed, cfg.probes.n_jobs, train_set=fit_on)


def evaluate(
    cfg: DictConfig, overrides: Sequence[str] | None = None, checkpoint: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Evaluate ``cfg.ckpt`` on a held-out split; writes metrics.json, report.md, PNG figures and TensorBoard.

    They are built in a staging folder and moved into ``cfg.paths.output_dir`` together, metrics.json last
    (:func:`~levasa.io.staged_outputs`): an evaluation killed or failing part-way leaves the previous one whole.
    metrics.json's ``run`` records the checkpoint's step and SHA-256, so a reader can tell what it was computed from.

    The model and data are rebuilt from the config stored in the checkpoint, with ``overrides`` (the run-config
    part of the command line) applied on top, once that config is checked to name only allowed targets (see
    :func:`~levasa.models.checkpoint.trusted_config`; ``cfg.trusted_targets`` adds modules). Probes are fitted on
    the training split and scored on ``cfg.split``.
    ``checkpoint``: the checkpoint's contents when the caller has read them already (it is read once per job).
    """
    started = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True)
    check_request(cfg)
    sections = build_sections(cfg)
    checkpoint = read_checkpoint(cfg.ckpt) if checkpoint is None else checkpoint
    trusted = list(cfg.get("trusted_targets") or [])
    run_cfg = run_config(trusted_config(checkpoint, trusted), list(overrides or []))
    module = module_from_checkpoint(checkpoint, trusted)
    context = encoded_context(cfg, run_cfg, module)
    metrics: dict[str, Any] = {name: section.compute(context) for name, section in sections.items()}
    shown = context.images[: cfg.probes.max_figure]
    figures = evaluation_figures(module, context.train, context.test, shown, cfg.seed)
    out_dir = Path(cfg.paths.output_dir)
    metrics["run"] = {
        "checkpoint": str(cfg.ckpt),
        "checkpoint_step": checkpoint.get("global_step"),
        "checkpoint_sha256": getattr(checkpoint, "sha256", None) or file_sha256(cfg.ckpt),
        "split": cfg.split,
        "run_overrides": list(overrides or []),
        "n_train": len(context.train.keys),
        "n_test": len(context.test.keys),
        "seed": cfg.seed,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "levasa": levasa.__version__,
    }
    with staged_outputs(out_dir, "metrics.json") as staging:  # all of it appears at once, or none of it
        write_figures(staging, figures, context.test, shown)
        metrics["run"]["wall_time_s"] = round(time.perf_counter() - started, 1)
        write_results(staging, metrics, sections, figures, f"Evaluation of {cfg.ckpt}")
    report = out_dir / "report.md"
    print(f"Report: {report}")
    return metrics
