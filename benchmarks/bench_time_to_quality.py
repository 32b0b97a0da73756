"""Time to quality: wall time and steps until the held-out readout CCC reaches a target on both axes.

    python benchmarks/bench_time_to_quality.py [--target 0.9] [--val-every 24] [--variants "" "data.batch_size=32" ...]

Each variant is ``python train.py``'s default configuration (synthetic faces, LeVAsa, 64x64) with the given
overrides (an empty string is the default itself), run one after the other in this process with validation
every ``--val-every`` training steps (the default validates once per epoch, every 96 steps) and stopped at
the first validation where both ``val/align/ccc_v`` and ``val/align/ccc_a`` reach ``--target`` (or at
``--max-epochs``). Printed per variant: steps and wall seconds to the target (validation time included, and
training time alone), and the CCC at that point.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
from common import machine, train_config
from omegaconf import open_dict

from levasa.jobs.training import train
from levasa.models import keys


class QualityClock(L.Callback):
    """Records, after each validation, the step, the wall time since fit began, the time spent validating, and
    the CCCs; stops training once both reach ``target``."""

    instances: list[QualityClock] = []  # noqa: RUF012 (train() instantiates the clock from the config)

    def __init__(self, target: float) -> None:
        QualityClock.instances.append(self)
        self.target = target
        self.rows: list[dict[str, float]] = []
        self.started = self.val_started = 0.0
        self.val_seconds = 0.0

    def on_fit_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_validation_start(self, trainer, pl_module) -> None:
        self.val_started = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        now = time.perf_counter()
        self.val_seconds += now - self.val_started
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        ccc = [float(metrics.get(k, float("nan"))) for k in (keys.CCC_V, keys.CCC_A)]
        self.rows.append(
            {"step": trainer.global_step, "wall": now - self.started, "train": now - self.started - self.val_seconds,
             "ccc_v": ccc[0], "ccc_a": ccc[1]}
        )  # fmt: skip
        if min(ccc) >= self.target:
            trainer.should_stop = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--val-every", type=int, default=24)
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--variants", nargs="*", default=[""])
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    results = []
    for variant in args.variants:
        with tempfile.TemporaryDirectory() as tmp:
            overrides = [
                *variant.split(),
                f"++trainer.val_check_interval={args.val_every}",
                f"trainer.max_epochs={args.max_epochs}",
                f"paths.data_dir={Path('data').resolve()}",
            ]
            cfg = train_config(overrides, tmp)
            with open_dict(cfg):
                cfg.callbacks["quality_clock"] = {"_target_": "__main__.QualityClock", "target": args.target}
            started = time.perf_counter()
            train(cfg)
            total = time.perf_counter() - started
            clock = QualityClock.instances[-1]
        reached = next((r for r in clock.rows if min(r["ccc_v"], r["ccc_a"]) >= args.target), None)
        results.append((variant or "(default)", reached, clock.rows[-1] if clock.rows else None, total))
    print(f"\nTarget: held-out readout CCC >= {args.target} on both axes; validation every {args.val_every} steps")
    print(
        "| variant | steps | wall s (with validation) | train s | ccc_v | ccc_a | run s (incl. start-up, final val) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row, last, total in results:
        if row is None:
            print(f"| {name} | not reached | | | {last['ccc_v']:.3f} | {last['ccc_a']:.3f} | {total:.0f} |")
        else:
            print(
                f"| {name} | {row['step']} | {row['wall']:.0f} | {row['train']:.0f} | {row['ccc_v']:.3f} | "
                f"{row['ccc_a']:.3f} | {total:.0f} |"
            )


if __name__ == "__main__":
    main()
