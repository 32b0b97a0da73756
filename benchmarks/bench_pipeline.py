"""Training on image files: the original notebooks' data pipeline against this project's cached one, side by side.

    python benchmarks/bench_pipeline.py [--n 768] [--kinds afew,affectnet2017,affectnet2021] [--repeats 2]

For each kind of input the script writes ``--n`` image files in an ImageFolder layout (one folder per class,
plus the ``labels.csv`` the project's folder reader takes): 720x576 PNG frames (AFEW-VA), about 1000x1000
JPEGs (AffectNet 2017 full images) and 224x224 JPEGs (AffectNet 2021 crops), each a synthetic face on a noisy
background. The same default LeVAsa network (64x64, batch 64) is trained one epoch each way:
- notebook: torchvision ``ImageFolder`` with ``Resize((64, 64))`` and ``ToTensor()``, PIL decoding every file
  every step, in a plain PyTorch loop (as the original release's notebooks did);
- cached, bare loop: ``data=folder`` through the preprocessing cache (built once before timing; its build time
  is printed), the same plain loop;
- cached, Lightning: ``python train.py data=folder ...``'s own loop (``trainer.fit``, default callbacks and
  logger), timed over the training steps;
- bare step: the same plain loop over batches already in memory (no data time at all): the ceiling;
- notebook data only: the notebook's loader iterated without training, the decode rate that bounds it.

A plain loop is serial, so notebook img/s = 1 / (t_decode + t_step) and cached / notebook = 1 + t_decode / t_step:
the ratio grows with the decode cost of the files and with the speed of the step (large on a GPU).
The Lightning column counts the steps inside an epoch; its epoch boundaries (checkpoints, image grids) are timed
apart and printed, since a benchmark's tiny epochs would otherwise charge them to every few steps.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import bare_steps, build, lightning_throughput, machine, preloaded_batches, seed_all, train_config
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from levasa.data.synthetic.generate import generate
from levasa.vocabulary import EMOTIONS

KINDS = {  # name: (width, height, suffix)
    "afew": (720, 576, "png"),
    "affectnet2017": (1000, 1000, "jpg"),
    "affectnet2021": (224, 224, "jpg"),
}


def write_tree(root: Path, n: int, width: int, height: int, suffix: str) -> None:
    faces = generate(n_identities=max(1, n // 16), expressions_per_identity=16, image_size=128, seed=0)
    rng = np.random.default_rng(0)
    side = min(width, height) // 2
    rows = ["key,label"]
    for i in range(n):
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        face = np.asarray(Image.fromarray(faces.images[i]).resize((side, side), Image.Resampling.BILINEAR))
        y, x = (height - side) // 2, (width - side) // 2
        frame[y : y + side, x : x + side] = face
        label = EMOTIONS[int(faces.emotion[i])]
        rel = f"{label}/{i:05d}.{suffix}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame).save(root / rel, quality=90) if suffix == "jpg" else Image.fromarray(frame).save(
            root / rel
        )
        rows.append(f"{rel},{label}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")


def notebook_loader(root: Path, batch_size: int) -> DataLoader:
    transform = transforms.Compose([transforms.Resize((64, 64)), transforms.ToTensor()])
    folder = datasets.ImageFolder(str(root), transform=transform)
    return DataLoader(folder, batch_size=batch_size, shuffle=True)


def data_only(loader) -> float:
    """Images/s of iterating ``loader`` once without training."""
    start, n = time.perf_counter(), 0
    for x, _ in loader:
        n += len(x)
    return n / (time.perf_counter() - start)


def plain_epoch(module, optimizer, loader, tuples: bool) -> float:
    """Images/s of one epoch of plain steps over ``loader`` (data loading included)."""
    start, n = time.perf_counter(), 0
    batches = ({"image": x, "va": torch.full((len(x), 2), float("nan"))} for x, _ in loader) if tuples else loader
    n = bare_steps(module, optimizer, batches)()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=768)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    rows = [
        "| input | notebook (img/s) | notebook data only | cached, bare loop | cached, Lightning | bare step | "
        "**cached Lightning / notebook** | cached bare / notebook | cached Lightning / bare step | "
        "epoch boundary (s) | cache build (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            width, height, suffix = KINDS[kind]
            root = Path(tmp) / kind
            write_tree(root, args.n, width, height, suffix)
            overrides = [
                "data=folder",
                f"data.root={root}",
                f"data.cache_dir={Path(tmp) / 'cache'}",
                "data.batch_size=64",
            ]
            cfg = train_config(overrides, Path(tmp) / "run")
            seed_all(0)
            start = time.perf_counter()
            datamodule, module = build(cfg)  # builds the cache
            build_s = time.perf_counter() - start
            optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
            memory = preloaded_batches(datamodule, args.n // 64)
            bare_steps(module, optimizer, memory[:2])()  # warm-up
            best = {"notebook": 0.0, "data": 0.0, "cached": 0.0, "lightning": 0.0, "bare": 0.0}
            boundary = float("inf")
            for _ in range(args.repeats):
                best["notebook"] = max(
                    best["notebook"], plain_epoch(module, optimizer, notebook_loader(root, 64), True)
                )
                loader = datamodule.train_dataloader()
                best["cached"] = max(best["cached"], plain_epoch(module, optimizer, loader, False))
                best["bare"] = max(best["bare"], plain_epoch(module, optimizer, memory, False))
                best["data"] = max(best["data"], data_only(notebook_loader(root, 64)))
                timer = lightning_throughput(overrides, 2 * len(memory), 1, Path(tmp) / "run")
                best["lightning"] = max(best["lightning"], timer.images_per_second)
                boundary = min(boundary, timer.seconds_per_boundary)
            rows.append(
                f"| {width}x{height} {suffix.upper()} | {best['notebook']:.1f} | {best['data']:.1f} | "
                f"{best['cached']:.1f} | {best['lightning']:.1f} | {best['bare']:.1f} | "
                f"**{best['lightning'] / best['notebook']:.2f}x** | {best['cached'] / best['notebook']:.2f}x | "
                f"{best['lightning'] / best['bare']:.2f} | {boundary:.2f} | {build_s:.1f} |"
            )
    print(f"\nDefault LeVAsa, 64x64, batch 64; {args.n} files per kind, best of {args.repeats} epochs each way")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
