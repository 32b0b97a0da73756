"""The plain functions behind the entry points: ``train(cfg)`` and ``evaluate(cfg)`` (scripts and tests).

``transfer(cfg)``, behind ``transfer.py``, lives in :mod:`levasa.annotation.cli` so that annotation transfer
never imports torch.
"""

from __future__ import annotations

import csv
import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import sklearn
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.plugins.io import CheckpointIO
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

import levasa
from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.strategies import va_to_categorical
from levasa.callbacks import AtomicCheckpointIO
from levasa.config import compose_config, group_options
from levasa.data.cache import CropSettings, decode_faces
from levasa.data.images import ImageError, list_images
from levasa.evaluation import (
    alignment_section,
    disentanglement_section,
    emotion_section,
    subsample_rows,
    true_alignment_section,
    va_regression_section,
)
from levasa.io import remove_stale_temporaries, write_atomic, write_json_atomic, write_text_atomic
from levasa.metrics.reconstruction import reconstruction_report
from levasa.models.checkpoint import check_resumable, load_module, read_checkpoint
from levasa.models.latents import Latents, encode_dataset
from levasa.models.module import LatentVAModule
from levasa.report import render_report
from levasa.viz.figures import circumplex_figure, image_figure, tradeoff_figure, tsne_figure
from levasa.viz.grids import model_grids
from levasa.vocabulary import EMOTIONS

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group that maps names to ``_target_`` nodes (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def run_info(
    cfg: DictConfig, trainer: L.Trainer, best: str, started: float, resumed_from: str | None = None
) -> dict[str, Any]:
    """What a reader needs to trace the figures: seed, checkpoint, steps, processes, time and versions.

    ``started_at`` and ``finished_at`` are wall-clock times (UTC, ISO 8601), so that jobs of a sweep can be
    placed on one time line; ``resumed_from`` is the checkpoint training resumed from (None: a fresh start).
    """
    return {
        "seed": cfg.seed,
        "best_checkpoint": best,
        "resumed_from": resumed_from,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "processes": trainer.world_size,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "started_at": _utc_iso(time.time() - (time.perf_counter() - started)),
        "finished_at": _utc_iso(time.time()),
        "levasa": levasa.__version__,
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
    }


def _utc_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds")


RESUME_MODES = ("last", "auto")
"""``ckpt_path=last``: resume this run (``hydra.run.dir``) from its ``checkpoints/last.ckpt``, an error when it
has none; ``ckpt_path=auto``: the same when there is one, a fresh start otherwise (requeued cluster jobs)."""


def last_checkpoint_paths(callbacks: list[Any], out_dir: Path) -> list[Path]:
    """Where this run's ``last.ckpt`` is written: by every ModelCheckpoint with ``save_last`` (default folder
    ``<output_dir>/checkpoints``)."""
    paths = [
        Path(cb.dirpath or out_dir / "checkpoints") / f"{cb.CHECKPOINT_NAME_LAST}{cb.FILE_EXTENSION}"
        for cb in callbacks
        if isinstance(cb, ModelCheckpoint) and cb.save_last
    ]
    return list(dict.fromkeys(paths)) or [out_dir / "checkpoints" / "last.ckpt"]


def resolve_ckpt_path(ckpt_path: str | None, callbacks: list[Any], out_dir: Path) -> str | None:
    """The checkpoint ``trainer.fit`` resumes from: None (fresh start), ``last`` / ``auto`` (see ``RESUME_MODES``)
    or a path, which must exist."""
    if ckpt_path is None or str(ckpt_path) == "":
        return None
    if str(ckpt_path) not in RESUME_MODES:
        if "://" not in str(ckpt_path) and not Path(ckpt_path).is_file():
            raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
        return str(ckpt_path)
    candidates = [p for p in last_checkpoint_paths(callbacks, out_dir) if p.is_file()]
    if candidates:
        path = max(candidates, key=lambda p: p.stat().st_mtime)
        log.info("resuming from %s", path)
        return str(path)
    expected = " or ".join(str(p) for p in last_checkpoint_paths(callbacks, out_dir))
    if str(ckpt_path) == "auto":
        log.info("ckpt_path=auto: no %s yet, starting afresh", expected)
        return None
    raise FileNotFoundError(
        f"ckpt_path=last: no checkpoint at {expected}. It resumes the run in hydra.run.dir (here {out_dir}): "
        "give the interrupted run's directory (hydra.run.dir=outputs/runs/<date>/<time>), or ckpt_path=PATH, "
        "or ckpt_path=auto to start afresh when there is none."
    )


def trainer_plugins(trainer_cfg: DictConfig) -> list[Any]:
    """The trainer config's own plugins, plus :class:`AtomicCheckpointIO` unless one of them writes checkpoints."""
    plugins = list(instantiate(trainer_cfg.get("plugins")) or [])
    if not any(isinstance(p, CheckpointIO) for p in plugins):
        plugins.append(AtomicCheckpointIO())
    return plugins


def validate_alone(
    cfg: DictConfig, trainer: L.Trainer, model: L.LightningModule, datamodule: Any, callbacks: list[Any], best: str
) -> list[dict[str, float]] | None:
    """After a multi-process fit, the final validation on process 0 alone (None on the others).

    Under DDP each process would validate a share of the split, padded with repeated samples, and the module's
    epoch means are not reduced across processes: rank 0's figures would be those of its share. So the process
    group is closed and process 0 validates the best checkpoint on the whole split with a one-device trainer.
    """
    trainer.strategy.barrier("levasa_validate_alone")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if not trainer.is_global_zero:
        return None
    single: L.Trainer = instantiate(
        cfg.trainer,
        strategy="auto",
        devices=1,
        num_nodes=1,
        sync_batchnorm=False,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[c for c in callbacks if not isinstance(c, ProgressBar)],  # checkpoints save nothing in validate
        plugins=None,
    )
    return single.validate(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the configured model on the configured data; returns the final validation figures.

    Writes into ``cfg.paths.output_dir``: ``checkpoints/{last,best}.ckpt``, TensorBoard events and
    ``metrics.json`` (the validation figures of the best checkpoint under their logged names, plus a
    ``run`` section). The whole resolved config is stored in the checkpoints and logged as hparams.
    ``cfg.ckpt_path`` resumes training: a checkpoint path, ``last`` or ``auto`` (see ``RESUME_MODES``).
    Checkpoints are written atomically; with several processes (DDP) only process 0 writes metrics.json and
    the others return ``{}``.
    """
    started = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    callbacks = instantiate_group(cfg.get("callbacks"))
    ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), callbacks, out_dir)
    if ckpt_path is not None and "://" not in ckpt_path:
        check_resumable(ckpt_path, OmegaConf.to_container(cfg, resolve=True))
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    model.save_hyperparameters({"config": OmegaConf.to_container(cfg, resolve=True)})
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=instantiate_group(cfg.get("logger")),
        plugins=trainer_plugins(cfg.trainer),
    )
    if trainer.is_global_zero:
        for folder in {Path(cb.dirpath) for cb in callbacks if isinstance(cb, ModelCheckpoint) and cb.dirpath}:
            remove_stale_temporaries(folder)
    # compile=true: Lightning trains the torch.compile'd module and checkpoints the original's weights
    trainer.fit(torch.compile(model) if cfg.get("compile") else model, datamodule=datamodule, ckpt_path=ckpt_path)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if trainer.world_size > 1:
        results = validate_alone(cfg, trainer, model, datamodule, callbacks, best)
        if results is None:
            return {}
    else:
        results = trainer.validate(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics: dict[str, Any] = {name: float(value) for name, value in results[0].items()}
    metrics["run"] = run_info(cfg, trainer, best, started, ckpt_path)
    write_json_atomic(out_dir / "metrics.json", metrics)
    log.info("final validation figures: %s", {k: v for k, v in metrics.items() if k != "run"})
    print(f"Run directory: {out_dir}")
    print(f"Best checkpoint: {best or 'none (checkpointing disabled)'}")
    return metrics


EVALUATE_KEYS = ("ckpt", "seed", "split", "probes", "paths", "hydra", "sweep")
"""Top-level keys of conf/evaluate.yaml: command-line overrides of these configure the evaluation itself;
every other override applies to the trained run's own config."""


def split_evaluate_overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """Command-line arguments of evaluate.py split into those for its own config (``EVALUATE_KEYS``, flags)
    and those for the trained run's config (``data=imfdb``, ``data.root=...``), which Hydra would reject
    because evaluate.yaml does not hold them."""
    own, run = [], []
    for arg in args:
        key = arg.lstrip("+~").split("=")[0].split(".")[0]
        (own if arg.startswith("-") or "=" not in arg or key in EVALUATE_KEYS else run).append(arg)
    return own, run


def run_config_with_overrides(ckpt: str | Path, overrides: list[str]) -> DictConfig:
    """The resolved config stored in ``ckpt`` with ``overrides`` applied (they win).

    ``key=value`` sets a value (``data.batch_size=8``); ``group=option`` swaps a whole group node for
    ``conf/<group>/<option>.yaml`` composed the way ``train.py`` would (``data=imfdb``), together with the
    overrides inside that group (``data.root=...``). A swapped ``data`` keeps the run's image size unless
    ``data.image_size`` is given: the model only takes faces of the size it was trained on.
    """
    run_cfg = OmegaConf.create(read_checkpoint(ckpt)["hyper_parameters"]["config"])
    settings = [o for o in overrides if o.lstrip("+~").split("=")[0].split(".")[0] not in EVALUATE_KEYS]
    groups = [o for o in settings if "." not in o.split("=")[0] and group_options(o.split("=")[0])]
    dotted = [o for o in settings if o not in groups]
    for override in groups:
        key = override.split("=")[0]
        inside = [o for o in dotted if o.lstrip("+~").startswith(f"{key}.")]
        if key == "data" and not any(o.startswith("data.image_size=") for o in inside):
            inside.append(f"data.image_size={run_cfg.data.image_size}")
        composed = compose_train_config([override, *inside, f"seed={run_cfg.seed}"])
        run_cfg[key] = OmegaConf.create(OmegaConf.to_container(composed[key], resolve=True))
        dotted = [o for o in dotted if o not in inside]
    return OmegaConf.merge(run_cfg, OmegaConf.from_dotlist([o.lstrip("+~") for o in dotted]))


def compose_train_config(overrides: list[str]) -> DictConfig:
    """``levasa/conf/train.yaml`` composed with ``overrides`` (outside of ``@hydra.main``)."""
    return compose_config("train", [*overrides, "paths.output_dir=."])


def save_figure(fig: Figure, path: Path) -> None:
    """Write a matplotlib figure as PNG."""
    fig.savefig(path, dpi=110, bbox_inches="tight")


def evaluation_figures(module: LatentVAModule, test: Latents, images: torch.Tensor, seed: int) -> dict[str, Figure]:
    """Circumplex scatter (models with a readout), reconstructions, traversals and t-SNE of held-out faces."""
    figures: dict[str, Figure] = {}
    if test.readout is not None:
        figures["circumplex"] = circumplex_figure(test.readout, test.va, test.emotion)
    for name, grid in model_grids(module, images, torch.from_numpy(test.va[: len(images)])).items():
        figures[name] = image_figure(grid.numpy(), name.replace("_", " "))
    figures["tsne"] = tsne_figure(test.chunks, test.emotion, seed)
    return figures


def log_evaluation(out_dir: Path, figures: dict[str, Figure], test: Latents, images: torch.Tensor) -> None:
    """Figures as PNG files and in TensorBoard, and the latents in TensorBoard's embedding projector."""
    writer = SummaryWriter(str(out_dir / "tensorboard"))
    for name, fig in figures.items():
        save_figure(fig, out_dir / f"{name}.png")
        writer.add_figure(f"eval/{name}", fig)
    labels = ["unknown" if e < 0 else EMOTIONS[e] for e in test.emotion[: len(images)]]
    writer.add_embedding(test.features("z_all")[: len(images)], metadata=labels, label_img=images, tag="z_all")
    writer.close()


def evaluation_sections(module: LatentVAModule, train: Latents, test: Latents, images: torch.Tensor, cfg: DictConfig):
    """Every metrics.json section (probes fitted on ``train``, scored on ``test``)."""
    with torch.no_grad():
        recon = module.decode(torch.from_numpy(test.features("z_all"))).numpy()
    return {
        "alignment": alignment_section(test),
        "alignment_true_va": true_alignment_section(test),
        "va_regression": va_regression_section(train, test, cfg.seed, cfg.probes.n_jobs),
        "emotion_probe": emotion_section(train, test, cfg.seed, cfg.probes.classifier, cfg.probes.n_jobs),
        "reconstruction": reconstruction_report(images.numpy(), recon),
        "disentanglement": disentanglement_section(test, cfg.seed),
    }


def evaluate(cfg: DictConfig, overrides: list[str] | None = None) -> dict[str, Any]:
    """Evaluate ``cfg.ckpt`` on a held-out split; writes metrics.json, report.md, PNG figures and TensorBoard.

    The model and data are rebuilt from the config stored in the checkpoint, with ``overrides`` (the
    command line) applied on top. Probes are fitted on the training split and scored on ``cfg.split``.
    """
    started = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True)
    if not cfg.get("ckpt"):
        raise ValueError("give ckpt=PATH (a run's checkpoints/best.ckpt) or sweep=DIR (a multirun directory)")
    if cfg.split not in ("val", "test"):
        raise ValueError(f"split must be a held-out split, 'val' or 'test', found {cfg.split!r}")
    out_dir = Path(cfg.paths.output_dir)
    run_cfg = run_config_with_overrides(cfg.ckpt, list(overrides or []))
    module = load_module(cfg.ckpt)
    datamodule = instantiate(run_cfg.data)
    datamodule.prepare_data()
    datamodule.setup("test")
    held_out = datamodule.datasets[cfg.split]
    if len(held_out) == 0 or len(datamodule.datasets["train"]) == 0:
        raise ValueError(f"the {cfg.split} or train split of {run_cfg.data._target_} is empty: nothing to evaluate")
    fit_on = datamodule.datasets["train"]  # only the faces the probes are fitted on are encoded
    train = encode_dataset(module, fit_on, rows=subsample_rows(len(fit_on), cfg.probes.max_train, cfg.seed))
    test = encode_dataset(module, held_out)
    images = held_out.image_batch()
    metrics = evaluation_sections(module, train, test, images, cfg)
    figures = evaluation_figures(module, test, images[: cfg.probes.max_figure], cfg.seed)
    log_evaluation(out_dir, figures, test, images[: cfg.probes.max_figure])
    metrics["run"] = {
        "checkpoint": str(cfg.ckpt),
        "split": cfg.split,
        "run_overrides": list(overrides or []),
        "n_train": len(train.keys),
        "n_test": len(test.keys),
        "seed": cfg.seed,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "levasa": levasa.__version__,
    }
    write_json_atomic(out_dir / "metrics.json", metrics)
    report = render_report(metrics, {n: f"{n}.png" for n in figures}, f"Evaluation of {cfg.ckpt}")
    write_text_atomic(out_dir / "report.md", report)
    print(f"Report: {out_dir / 'report.md'}")
    return metrics


def sweep_jobs(sweep_dir: Path) -> list[Path]:
    """The numbered job directories of a Hydra multirun directory, in job order."""
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep directory not found: {sweep_dir}")
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    if not jobs:
        raise ValueError(f"{sweep_dir} holds no numbered job directories: is it a Hydra multirun directory?")
    return jobs


def sweep_row(job: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    """One line of sweep.csv: the job's weights and its headline figures."""
    config = read_checkpoint(job / "checkpoints" / "best.ckpt")["hyper_parameters"]["config"]
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


def evaluate_sweep(cfg: DictConfig, overrides: list[str] | None = None) -> list[dict[str, Any]]:
    """Evaluate every job of the multirun directory ``cfg.sweep``; writes sweep.csv and tradeoff.png.
    ``overrides`` apply to every job's own config, as in :func:`evaluate`.

    Each job's full report goes to ``<output_dir>/<job>/``.
    """
    out_dir = Path(cfg.paths.output_dir)
    rows = []
    for job in tqdm(sweep_jobs(Path(cfg.sweep)), desc="evaluating sweep jobs"):
        ckpt = job / "checkpoints" / "best.ckpt"
        job_cfg = OmegaConf.merge(cfg, {"ckpt": str(ckpt), "paths": {"output_dir": str(out_dir / job.name)}})
        rows.append(sweep_row(job, evaluate(job_cfg, overrides)))
    write_atomic(out_dir / "sweep.csv", lambda f: _write_rows(f, rows))
    arrays = {key: np.array([row[key] for row in rows], dtype=float) for key in ("alpha", "ccc_v", "ccc_a", "psnr")}
    accuracy = np.array([row["emotion_acc_z_va"] for row in rows], dtype=float)
    ccc = (arrays["ccc_v"] + arrays["ccc_a"]) / 2
    save_figure(tradeoff_figure(arrays["alpha"], ccc, arrays["psnr"], accuracy), out_dir / "tradeoff.png")
    print(f"Sweep table: {out_dir / 'sweep.csv'}")
    return rows


def _write_rows(handle: Any, rows: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def read_faces(files: list[Path], size: int, skip_bad: bool) -> tuple[list[Path], np.ndarray]:
    """The readable files and their faces uint8 ``[N, size, size, 3]``; unreadable ones raise or are skipped."""
    faces, valid = decode_faces(files, CropSettings(size), skip_invalid=skip_bad, desc="reading images")
    if not valid.any():
        raise ImageError("no readable image to predict on")
    return [f for f, ok in zip(files, valid, strict=True) if ok], faces[valid]


def predict(cfg: DictConfig) -> Path:
    """Write valence, arousal and emotion of every image under ``cfg.input`` to a CSV; returns its path."""
    module = load_module(cfg.ckpt)
    if not module.has_readout:
        raise ValueError(f"{cfg.ckpt} is a Vanilla VAE: it has no VA readout to predict with")
    size = int(read_checkpoint(cfg.ckpt)["hyper_parameters"]["config"]["data"]["image_size"])
    root = Path(cfg.input)
    files, faces = read_faces(list_images(root), size, cfg.skip_bad)
    images = torch.from_numpy(faces).permute(0, 3, 1, 2).float().div(255.0)
    with torch.no_grad():
        va = torch.cat([module.readout(module.encode(b)) for b in images.split(cfg.batch_size)]).numpy()
    va = np.clip(va, -1.0, 1.0)
    classes = va_to_categorical(va, resolve_anchor(cfg.anchor), cfg.label_strategy)
    rows = [
        {"path": f.relative_to(root).as_posix(), "valence": round(float(v), 4), "arousal": round(float(a), 4),
         "emotion": EMOTIONS[c]}
        for f, (v, a), c in zip(files, va, classes, strict=True)
    ]  # fmt: skip
    output = Path(cfg.output) if cfg.output else Path(cfg.paths.output_dir) / "predictions.csv"
    write_atomic(output, lambda f: _write_rows(f, rows))
    print(f"Predictions for {len(rows)} images: {output}")
    return output
