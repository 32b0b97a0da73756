"""Shared by the benchmarks: the machine's description, the default model and data, a bare training step."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from levasa.config import compose_config
from levasa.jobs.training import instantiate_group
from levasa.machine import cpu_model


def machine() -> str:
    """One line naming the CPU, its cores, torch's threads and the GPU if any."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu_model()}, {torch.get_num_threads()} torch threads, {gpu}; torch {torch.__version__}"


def cpu_flags() -> str:
    """The vector-instruction flags that decide the speed of a step here (``/proc/cpuinfo``), comma-separated, with a
    note when the CPU has no native bf16."""
    try:
        flags = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown (no /proc/cpuinfo)"
    found = [f for f in ("avx512_bf16", "amx_bf16", "avx512f", "avx2", "fma") if f in flags]
    return ", ".join(found) + ("" if {"avx512_bf16", "amx_bf16"} & set(found) else " (no bf16 instructions)")


def train_config(overrides: list[str], output_dir: str | Path) -> DictConfig:
    """``levasa/conf/train.yaml`` composed with ``overrides``, writing under ``output_dir`` (no Hydra run)."""
    GlobalHydra.instance().clear()
    cfg = compose_config("train", [*overrides, f"paths.output_dir={output_dir}"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def preloaded_batches(datamodule, n: int) -> list[dict[str, torch.Tensor]]:
    """``n`` training batches materialised in memory (cycling the loader), so a loop over them costs no data time."""
    batches: list[dict[str, torch.Tensor]] = []
    while len(batches) < n:
        for batch in datamodule.train_dataloader():
            batches.append({k: v for k, v in batch.items() if isinstance(v, torch.Tensor)})
            if len(batches) == n:
                break
    return batches


def bare_steps(module, optimizer, batches: Iterator | list, autocast: bool = False) -> Callable[[], int]:
    """A closure running one plain PyTorch training step per batch (forward, objective, backward, Adam);
    returns the number of images trained on."""

    def run() -> int:
        module.train()
        n = 0
        for batch in batches:
            x, va = batch["image"], batch["va"]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                out = module(x)
                loss = module.objective(out, x, va).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n += x.shape[0]
        return n

    return run


def images_per_second(run: Callable[[], int], repeats: int = 1) -> float:
    """Best throughput of ``run()`` (which returns the images it processed) over ``repeats`` runs."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        n = run()
        best = max(best, n / (time.perf_counter() - start))
    return best


def build(cfg: DictConfig):
    """The configured datamodule (set up) and model."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule, instantiate(cfg.model)


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


class StepTimer(L.Callback):
    """Training-step time after ``warmup`` steps, split into steps inside an epoch and epoch boundaries.

    The interval from one step's end to the next step's end holds the next batch's loading and the step, and,
    when the two steps lie in different epochs, the once-per-epoch work in between (checkpoints, image grids,
    a new DataLoader iterator). Inside-epoch intervals give the throughput; the boundary intervals less one
    mean step give the cost of an epoch boundary, a fixed cost per epoch that tiny benchmark epochs would
    otherwise charge to every few steps.
    """

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.last: tuple[float, int] | None = None
        self.step_s = self.boundary_s = 0.0
        self.images = self.steps = self.boundaries = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now, epoch = time.perf_counter(), trainer.current_epoch
        if trainer.global_step > self.warmup and self.last is not None:
            if epoch == self.last[1]:
                self.step_s += now - self.last[0]
                self.images += batch["image"].shape[0]
                self.steps += 1
            else:
                self.boundary_s += now - self.last[0]
                self.boundaries += 1
        self.last = (now, epoch)

    @property
    def images_per_second(self) -> float:
        return self.images / self.step_s

    @property
    def seconds_per_boundary(self) -> float:
        """Mean time of an epoch boundary beyond one step (NaN when the run crossed none)."""
        if not self.boundaries:
            return float("nan")
        return self.boundary_s / self.boundaries - self.step_s / self.steps


def lightning_throughput(overrides: list[str], steps: int, warmup: int, out: Path) -> StepTimer:
    """Run ``python train.py``'s loop (default trainer, callbacks, logger; validation off) for ``warmup + steps``
    steps on the config with ``overrides``; returns the timer (``.images_per_second``, ``.seconds_per_boundary``)."""
    cfg = train_config(overrides, out)
    seed_all(cfg.seed)
    datamodule, module = build(cfg)
    timer = StepTimer(warmup)
    trainer = instantiate(  # the trainer train.py builds (its plugins instantiated), on a fixed number of steps
        cfg.trainer,
        max_steps=warmup + steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[*instantiate_group(cfg.callbacks), timer],
        logger=instantiate_group(cfg.logger),
    )
    trainer.fit(module, datamodule=datamodule)
    return timer
