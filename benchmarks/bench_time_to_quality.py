"""Time to quality: training steps and seconds until the default model reaches the generative-half targets,
against the paper's optimisation recipe (Adam at 1e-4, batches of 128), in one run on one machine.

    python benchmarks/bench_time_to_quality.py [--val-every 48] [--max-epochs N] [--variants "" "..." ...]

Each variant is ``python train.py``'s configuration with the given overrides (an empty string is the default
itself), trained one after the other in this process with validation every ``--val-every`` training steps. After
each validation the held-out validation identities (never the test split) are scored:

- ``readout``: the model's own VA readout, CCC per axis (``val/align/ccc_v``, ``val/align/ccc_a``);
- ``recon``: an expression judge's CCC on the reconstructions decode(mu(x)) against the true VA;
- ``swap``: the judge's CCC on decode([z_v(B), z_a(B), z_z(A)]) against donor B's VA (donors of other identities);
- ``psnr``: the reconstructions' PSNR (dB, per image, averaged).

The judge is evaluate.py's (levasa.evaluation.judge, trained on the training split's real faces, cached under
``data/judges``); its training is not timed. A variant stops once every target holds on both axes, or at
``--max-epochs`` (default: the configuration's own ``trainer.max_epochs``, the same budget for every variant).
Printed: the machine and its CPU flags, then per variant and target the first step and the training seconds
(validation excluded) at which it held, and the last figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from common import cpu_flags, machine, train_config
from omegaconf import open_dict

from levasa.evaluation.edits import swap_donors
from levasa.evaluation.judge import Judge, JudgeSettings, fit_judge, judge_targets
from levasa.jobs.training import train
from levasa.metrics.alignment import ccc
from levasa.models import keys

TARGETS = {"readout": 0.95, "recon": 0.90, "swap": 0.85, "psnr": 24.0}
"""The acceptance targets of the generative half: CCC on both axes (PSNR in dB)."""

PAPER_RECIPE = "model.optimizer.lr=1e-4 data.batch_size=128"
"""The paper's optimisation recipe on the default objective and networks."""


class QualityClock(L.Callback):
    """After each validation: the step, training seconds so far (validation excluded) and the scores of the module
    docstring; stops training once every target holds."""

    instances: list[QualityClock] = []  # noqa: RUF012 (train() instantiates the clock from the config)

    def __init__(self, targets: dict[str, float], judge_cache: str, seed: int, max_faces: int = 768) -> None:
        QualityClock.instances.append(self)
        self.targets, self.judge_cache, self.seed, self.max_faces = dict(targets), judge_cache, seed, max_faces
        self.rows: list[dict[str, float]] = []
        self.judge: Judge | None = None
        self.started = self.val_started = self.val_seconds = 0.0

    def on_fit_start(self, trainer, pl_module) -> None:
        datamodule = trainer.datamodule
        datamodule.setup("fit")
        train_set, val = datamodule.datasets["train"], datamodule.datasets["val"]
        targets = judge_targets(train_set.factors, train_set.factor_names, train_set.va.numpy())
        settings = JudgeSettings(seed=self.seed, cache_dir=self.judge_cache)  # evaluate.py's, so its cache is shared
        self.judge = fit_judge(train_set.image_batch(), targets, settings)
        rows = np.random.default_rng(self.seed).permutation(len(val))[: self.max_faces]
        self.images = val.image_batch(rows)
        self.truth = judge_targets(val.factors, val.factor_names, val.va.numpy()).values[rows, :2]
        self.donors = swap_donors(np.asarray(val.subject)[rows], self.seed)
        self.started = time.perf_counter()

    def on_validation_start(self, trainer, pl_module) -> None:
        self.val_started = time.perf_counter()

    @torch.no_grad()
    def scores(self, module) -> dict[str, float]:
        """Judged reconstruction and swap CCC per axis and PSNR of the validation faces."""
        enc = [module.encode(b) for b in self.images.split(256)]
        chunks = {c: torch.cat([getattr(e, c).mu for e in enc]) for c in "vaz"}
        recon = torch.cat([module.decode(z) for z in torch.cat([chunks[c] for c in "vaz"], 1).split(256)])
        swapped = torch.cat([chunks["v"][self.donors], chunks["a"][self.donors], chunks["z"]], 1)
        swap = torch.cat([module.decode(z) for z in swapped.split(256)])
        judged = {"recon": (self.judge(recon), self.truth), "swap": (self.judge(swap), self.truth[self.donors])}
        out = {f"{k}_{axis}": ccc(p[:, i], t[:, i]) for k, (p, t) in judged.items() for i, axis in enumerate("va")}
        mse = (recon - self.images).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        out["psnr"] = float((-10 * mse.log10()).mean())
        return out

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            self.val_seconds += time.perf_counter() - self.val_started
            return
        metrics = trainer.callback_metrics
        row = {"step": trainer.global_step, "readout_v": float(metrics[keys.CCC_V]), **self.scores(pl_module)}
        row["readout_a"] = float(metrics[keys.CCC_A])
        now = time.perf_counter()
        self.val_seconds += now - self.val_started
        row["train"] = now - self.started - self.val_seconds
        self.rows.append(row)
        if all(reached(row, name, target) for name, target in self.targets.items()):
            trainer.should_stop = True


def reached(row: dict[str, float], name: str, target: float) -> bool:
    """Whether ``row`` meets the target ``name`` (both axes for the CCCs)."""
    if name == "psnr":
        return row["psnr"] >= target
    return min(row[f"{name}_v"], row[f"{name}_a"]) >= target


def figure(row: dict[str, float], name: str) -> str:
    return f"{row['psnr']:.2f} dB" if name == "psnr" else f"{row[f'{name}_v']:.3f} / {row[f'{name}_a']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--val-every", type=int, default=48)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--variants", nargs="*", default=["", PAPER_RECIPE])
    args = parser.parse_args()
    print(f"Machine: {machine()}\nCPU flags: {cpu_flags()}")
    data_dir = Path("data").resolve()
    results = []
    for variant in args.variants:
        with tempfile.TemporaryDirectory() as tmp:
            overrides = [
                *variant.split(),
                f"++trainer.val_check_interval={args.val_every}",
                *([f"trainer.max_epochs={args.max_epochs}"] if args.max_epochs else []),
                f"paths.data_dir={data_dir}",
            ]
            cfg = train_config(overrides, tmp)
            with open_dict(cfg):
                cfg.callbacks["quality_clock"] = {
                    "_target_": "__main__.QualityClock",
                    "targets": TARGETS,
                    "judge_cache": str(data_dir / "judges"),
                    "seed": int(cfg.seed),
                }
            started = time.perf_counter()
            train(cfg)
            total = time.perf_counter() - started
        results.append((variant or "(default)", QualityClock.instances[-1].rows, total))
    budget = f"{args.max_epochs} epochs" if args.max_epochs else "the configuration's epochs"
    print(f"\nTargets on the validation identities (validation every {args.val_every} steps, at most {budget}): "
          + ", ".join(f"{k} >= {v:g}" for k, v in TARGETS.items()))  # fmt: skip
    print("| variant | target | first step | train s | figure there (V / A) | last step | last figure |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, rows, total in results:
        for target, value in TARGETS.items():
            hit = next((r for r in rows if reached(r, target, value)), None)
            first = f"{hit['step']} | {hit['train']:.0f} | {figure(hit, target)}" if hit else "not reached | |"
            print(f"| {name} | {target} | {first} | {rows[-1]['step']} | {figure(rows[-1], target)} |")
        print(f"| {name} | (run) | | | whole run {total:.0f} s incl. start-up and validation | | |")


if __name__ == "__main__":
    main()
