"""The preprocessing cache against decoding every image every epoch, side by side in one run.

    python benchmarks/bench_cache.py [--n 2000] [--full-size 512] [--image-size 64] [--repeats 3]

Writes ``--n`` full-size JPEG faces (``--full-size`` square, a synthetic face scaled up with sensor noise, so
the files compress like photographs) into a temporary folder. Both sides feed the same DataLoader (batch 64,
shuffled, no worker processes) with 64x64 faces in [0, 1]:
- decode: a Dataset whose ``__getitem__`` decodes, crops and resizes the file with :func:`levasa.data.images.load_face`
  (the project's fastest decoder: JPEG DCT-domain downscaling), every epoch;
- cache: the faces decoded once by :func:`levasa.data.cache.load_or_build` into a memory-mapped array, then read
  from it by :class:`levasa.data.dataset.FaceArrayDataset`.
Prints the time of one epoch each way (best of ``--repeats``), their ratio, and the one-off build time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from levasa.data.cache import CropSettings, load_or_build
from levasa.data.dataset import FaceArrayDataset
from levasa.data.images import load_face
from levasa.data.readers.records import Records
from levasa.data.synthetic.generate import generate
from levasa.machine import cpu_model


def write_jpegs(root: Path, n: int, full_size: int) -> Records:
    """``n`` full-size JPEG faces under ``root`` and their records (labels from the synthetic set)."""
    faces = generate(n_identities=max(1, n // 20), expressions_per_identity=20, image_size=128, seed=0)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        big = np.asarray(Image.fromarray(faces.images[i]).resize((full_size, full_size), Image.Resampling.BICUBIC))
        noisy = np.clip(big + rng.normal(0, 6, big.shape), 0, 255).astype(np.uint8)
        rel = f"{i // 500:03d}/{i:05d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(noisy).save(root / rel, quality=90)
        paths.append(rel)
    return Records(
        "bench", root, paths, faces.va[:n], faces.emotion[:n], faces.keys[:n], faces.subject[:n].astype(str), [""] * n
    )


class DecodeEveryEpoch(Dataset):
    """Decodes, crops and resizes the image file on every access."""

    def __init__(self, records: Records, size: int) -> None:
        self.files = [records.root / p for p in records.paths]
        self.va = torch.as_tensor(records.va)
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        face = load_face(self.files[i], self.size)
        return {"image": torch.from_numpy(face).permute(2, 0, 1).float().div_(255.0), "va": self.va[i]}


def epoch_seconds(dataset: Dataset, repeats: int) -> float:
    """Best wall time of one shuffled epoch through a DataLoader (batch 64, no workers)."""
    times = []
    for seed in range(repeats):
        loader = DataLoader(dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
        start = time.perf_counter()
        n = sum(batch["image"].shape[0] for batch in loader)
        times.append(time.perf_counter() - start)
        assert n == len(dataset)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--full-size", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, torch threads {torch.get_num_threads()}; {args.n} JPEGs of {args.full_size}px")
    with tempfile.TemporaryDirectory() as tmp:
        records = write_jpegs(Path(tmp) / "faces", args.n, args.full_size)
        megabytes = sum((records.root / p).stat().st_size for p in records.paths) / 2**20
        settings = CropSettings(args.image_size)
        start = time.perf_counter()
        cache = load_or_build(records, settings, Path(tmp) / "cache")
        build = time.perf_counter() - start
        rows = np.arange(len(records))
        cached = FaceArrayDataset(cache.images, records.va, records.emotion, records.keys, rows // 20, rows=rows)
        check = cached.image_batch([0, len(records) - 1]).mul(255).round().byte()
        direct = np.stack([load_face(records.root / records.paths[i], args.image_size) for i in (0, len(records) - 1)])
        assert torch.equal(check, torch.from_numpy(direct).permute(0, 3, 1, 2)), "the cache differs from decoding"
        decode_s = epoch_seconds(DecodeEveryEpoch(records, args.image_size), args.repeats)
        cache_s = epoch_seconds(cached, args.repeats)
    print(f"files: {megabytes:.0f} MiB; cache build (threads, once): {build:.2f} s")
    print("| way | one epoch (s) | images/s |")
    print("| --- | --- | --- |")
    for name, seconds in (("decode every epoch", decode_s), ("read the cache", cache_s)):
        print(f"| {name} | {seconds:.3f} | {args.n / seconds:,.0f} |")
    print(f"ratio (decode / cache): {decode_s / cache_s:.1f}x")


if __name__ == "__main__":
    main()
