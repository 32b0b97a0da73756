"""The cached training loader with and without augmentation, side by side in one run.

    python benchmarks/bench_augment.py [--n 4096] [--image-size 64] [--batch-size 64] [--max-shift 4]
        [--repeats 7] [--threads T]

Writes ``--n`` synthetic faces into a memory-mapped uint8 cache (as :mod:`levasa.data.cache` does) and reads it
through the training loader a datamodule gives (``SplitDataModule.train_dataloader``: shuffled, no worker
processes, the sample contract's float faces): with ``data.augment`` off, with the flip, with the shift
(``max_shift: --max-shift``) and with both, in turn, ``--repeats`` epochs each. Prints the batches/s of each (best
epoch), each one's ratio to no augmentation (goal >= 0.95) and the machine with its CPU flags.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import cpu_flags, machine

from levasa.data.augment import Augment
from levasa.data.cache import MemmapImages
from levasa.data.datamodule import SplitDataModule
from levasa.data.dataset import FaceArrayDataset
from levasa.data.synthetic.generate import generate


class CachedFaces(SplitDataModule):
    """A datamodule whose training split is ``dataset`` (its loader built as every levasa datamodule's)."""

    def __init__(self, dataset: FaceArrayDataset, batch_size: int, augment: Augment) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["dataset", "augment"], logger=False)
        self.hparams.num_workers = 0
        self.datasets = {"train": dataset}
        self.augment = augment


def epoch_seconds(module: CachedFaces) -> tuple[float, int]:
    loader = module.train_dataloader()
    start = time.perf_counter()
    batches = sum(1 for _ in loader)
    return time.perf_counter() - start, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-shift", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{machine()}\nCPU flags: {cpu_flags()}")
    faces = generate(n_identities=max(1, args.n // 32), expressions_per_identity=32, image_size=args.image_size, seed=0)
    n = len(faces.images)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.npy"
        array = np.lib.format.open_memmap(path, "w+", np.uint8, faces.images.shape)
        array[:] = faces.images
        array.flush()
        del array
        rows = np.arange(n)
        dataset = FaceArrayDataset(MemmapImages(path), faces.va, faces.emotion, faces.keys, faces.subject, rows=rows)
        ways = {
            "no augmentation": Augment(),
            "flip": Augment(flip=True),
            f"shift {args.max_shift}": Augment(max_shift=args.max_shift),
            f"flip + shift {args.max_shift}": Augment(True, args.max_shift),
        }
        ways = {name: CachedFaces(dataset, args.batch_size, augment) for name, augment in ways.items()}
        best = dict.fromkeys(ways, float("inf"))
        torch.manual_seed(0)
        for _ in range(args.repeats):  # alternating, so a slow spell of a shared machine hits both alike
            for name, module in ways.items():
                seconds, batches = epoch_seconds(module)
                best[name] = min(best[name], seconds / batches)
    print(f"{n} faces of {args.image_size}px, batch {args.batch_size}, best of {args.repeats} epochs each")
    plain = best["no augmentation"]
    print("| loader | ms / batch | batches/s | of no augmentation |")
    print("| --- | --- | --- | --- |")
    for name, seconds in best.items():
        print(f"| {name} | {seconds * 1e3:.2f} | {1 / seconds:,.0f} | {plain / seconds:.3f} |")
    print(f"ratio (flip + shift / no augmentation, batches/s): {plain / seconds:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
