"""How the cost grows with the dataset: reader, cache build, a training epoch and evaluation at several sizes.

    python benchmarks/bench_scaling.py [--sizes 10000,30000,100000] [--label-rows 1000000]
                                       [--steps-per-epoch-cap K] [--plot PATH] [--quick] [--keep DIR]

For each size N the script writes N faces in the AffectNet 2021 layout into a temporary folder
(``{train,val}_set/images/<id>.jpg``, 224x224 JPEGs, and ``annotations/<id>_{exp,val,aro,lnd}.npy`` holding
strings, as the release does; ``--val-share`` of them in ``val_set``, the held-out test split). The faces are a few
hundred synthetic faces (``levasa.data.synthetic``) scaled to 224 and re-encoded with a per-file brightness shift
and sensor noise, written by a thread pool; nothing is downloaded. Then each step runs in its own Python process,
so that its peak resident memory is its own (``VmHWM`` of the process: ``ru_maxrss`` would carry the parent's peak
across ``exec``; the cache's memory-mapped pages read so far count in it, and their resident share at the step's
end is printed beside it; the probes' worker processes of evaluate are not counted):

- reader: ``read_affectnet(root)`` (scans the folders, reads the 4N ``.npy`` files);
- cache: the preprocessing cache built by ``data=affectnet`` (decode, crop, resize to 64, threads), its images/s
  and its size on disk;
- epoch: one training epoch of the default model through the project's Lightning loop (``train.yaml`` with
  ``data=affectnet``, its trainer, callbacks and logger; validation off). With ``--steps-per-epoch-cap K`` only K
  steps run and the epoch is extrapolated from the measured time per step (first step + (steps - 1) x the mean
  of the others); the table marks such rows;
- evaluate: ``python evaluate.py ckpt=<that run's last.ckpt>`` with its defaults (probes on a ``max_train``
  subsample, the generation judge trained on the training split), its own ``run.wall_time_s``.

Separately, the AffectNet 2017 label file alone: ``Manually_Annotated_file_lists/training.csv`` with
``--label-rows`` rows (136 landmarks each, ~0.7 kB a row) and no image written. The reader checks that images exist
with one directory listing per folder (``FileIndex``), not one ``stat`` per row, so it is timed twice: with the
images absent (every row parsed and checked, then skipped as "annotation without an image", ``skip_invalid``), and
with the existence check answering "present" (the rows kept: ``Records`` of all rows built, the memory a real
1M-row release costs the reader, less the listing).

Prints the machine, a markdown table per size, and per step the log-log slope of time against N (1 is linear) and
the ratio of peak memory at the largest and the smallest size; writes a log-log plot (PNG) to ``--plot``
(a temporary path unless given; ``--plot docs/figures/scaling.png`` for the documentation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

FULL_SIZE = 224
DISTINCT_FACES = 320
"""Distinct synthetic faces rendered; every file is one of them with its own brightness shift and noise."""
STEPS = ("reader", "cache", "epoch", "evaluate")


# ------------------------------------------------------------------------------------------------ the data


def _npy_bytes(value: str) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array(value))
    return buffer.getvalue()


def write_affectnet2021(root: Path, n: int, val_share: float, workers: int) -> None:
    """``n`` faces in the AffectNet 2021 layout under ``root``; ``val_share`` of them in ``val_set``."""
    from PIL import Image

    from levasa.data.synthetic.generate import generate

    faces = generate(n_identities=DISTINCT_FACES // 16, expressions_per_identity=16, image_size=128, seed=0)
    big = np.stack(
        [np.asarray(Image.fromarray(f).resize((FULL_SIZE, FULL_SIZE), Image.Resampling.BICUBIC)) for f in faces.images]
    ).astype(np.int16)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 6, (8, FULL_SIZE, FULL_SIZE, 3)).astype(np.int16)
    shifts = rng.integers(-12, 13, n)
    codes = faces.true_emotion % 7  # AffectNet codes 0-6: any of the seven basic classes will do here
    va = np.clip(np.nan_to_num(faces.va), -1, 1)
    landmarks = np.linspace(10.0, 200.0, 136).astype(np.float32)
    n_val = max(1, round(n * val_share))
    sets = {"train_set": n - n_val, "val_set": n_val}
    for name in sets:
        (root / name / "images").mkdir(parents=True)
        (root / name / "annotations").mkdir(parents=True)

    def write(i: int) -> None:
        name, face_id = ("train_set", i) if i < sets["train_set"] else ("val_set", i - sets["train_set"])
        k = i % len(big)
        pixels = np.clip(big[k] + noise[i % len(noise)] + shifts[i], 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / name / "images" / f"{face_id}.jpg", quality=90)
        annotations = root / name / "annotations"
        for kind, value in (("exp", str(int(codes[k]))), ("val", f"{va[k, 0]:.4f}"), ("aro", f"{va[k, 1]:.4f}")):
            (annotations / f"{face_id}_{kind}.npy").write_bytes(_npy_bytes(value))
        np.save(annotations / f"{face_id}_lnd.npy", landmarks)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(write, range(n), chunksize=256))


def write_label_file(root: Path, rows: int) -> None:
    """The AffectNet 2017 ``training.csv`` with ``rows`` rows (and an empty image folder): labels only."""
    from levasa.data.readers.affectnet import HEADER_2017, IMAGES_2017, LISTS_2017

    (root / LISTS_2017).mkdir(parents=True)
    (root / IMAGES_2017).mkdir()
    rng = np.random.default_rng(0)
    landmarks = ";".join(f"{v:.2f}" for v in np.linspace(30.0, 180.0, 136))
    with (root / LISTS_2017 / "training.csv").open("w") as f:
        f.write(",".join(HEADER_2017) + "\n")
        for start in range(0, rows, 50_000):
            count = min(50_000, rows - start)
            codes = rng.integers(0, 7, count)
            va = rng.uniform(-1, 1, (count, 2))
            side = rng.integers(100, 200, count)
            f.write(
                "".join(
                    f"{1 + (start + j) % 1000}/{start + j:07d}.jpg,10,12,{side[j]},{side[j]},{landmarks},"
                    f"{codes[j]},{va[j, 0]:.4f},{va[j, 1]:.4f}\n"
                    for j in range(count)
                )
            )


# ------------------------------------------------------------------------------------------------ the steps
# Each runs in a fresh process (``--step NAME``) and prints one JSON line: its figures.


def step_reader(root: Path, assume_present: bool = False) -> dict:
    from levasa.data.readers import affectnet, records
    from levasa.data.readers.affectnet import read_affectnet

    if assume_present:
        records.FileIndex.__contains__ = lambda self, rel: True
        affectnet.FileIndex = records.FileIndex
    start = time.perf_counter()
    try:
        n = len(read_affectnet(root, skip_invalid=True))
    except records.ReaderError:  # images absent: every row was parsed, checked and left out
        n = 0
    return {"seconds": time.perf_counter() - start, "rows_kept": n}


def _overrides(root: Path, work: Path) -> list[str]:
    return ["data=affectnet", f"data.root={root}", f"data.cache_dir={work / 'cache'}", f"paths.data_dir={work}"]


def step_cache(root: Path, work: Path) -> dict:
    from common import train_config
    from hydra.utils import instantiate

    cfg = train_config(_overrides(root, work), work / "cache_run")
    datamodule = instantiate(cfg.data)
    n = len(datamodule.records())  # read first: the time below is the build alone
    start = time.perf_counter()
    datamodule.cache()
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file())
    return {"seconds": seconds, "images": n, "images_per_s": n / seconds, "bytes": size}


def step_epoch(root: Path, work: Path, cap: int) -> dict:
    import lightning as L
    from common import build, seed_all, train_config
    from hydra.utils import instantiate
    from omegaconf import OmegaConf, open_dict

    from levasa.jobs.training import instantiate_group, resolve_trainer_precision

    class EpochTimer(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.start, self.ends = time.perf_counter(), []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.ends.append(time.perf_counter())

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self.end = time.perf_counter()

    out = work / "train_run"
    cfg = train_config(_overrides(root, work), out)
    resolve_trainer_precision(cfg)  # trainer.precision=auto, as train.py resolves it
    seed_all(cfg.seed)
    datamodule, module = build(cfg)
    full_steps = len(datamodule.train_dataloader())
    with open_dict(cfg):
        cfg.trainer.update(max_epochs=1, limit_val_batches=0, num_sanity_val_steps=0)
        cfg.trainer.limit_train_batches = min(cap, full_steps) if cap else 1.0
    module.save_hyperparameters({"config": OmegaConf.to_container(cfg, resolve=True)})  # as train.py: evaluate reads it
    timer = EpochTimer()
    trainer = instantiate(
        cfg.trainer, callbacks=[*instantiate_group(cfg.callbacks), timer], logger=instantiate_group(cfg.logger)
    )
    trainer.fit(module, datamodule=datamodule)
    steps = len(timer.ends)
    first = timer.ends[0] - timer.start
    per_step = (timer.ends[-1] - timer.ends[0]) / max(1, steps - 1)
    measured = timer.end - timer.start
    capped = steps < full_steps
    seconds = first + per_step * (full_steps - 1) if capped else measured
    ckpt = out / "checkpoints" / "last.ckpt"
    return {
        "seconds": seconds,
        "steps": steps,
        "full_steps": full_steps,
        "per_step_s": per_step,
        "extrapolated": capped,
        "precision": str(trainer.precision),
        "ckpt": str(ckpt),
    }


def step_evaluate(work: Path, ckpt: str) -> dict:
    """``python evaluate.py ckpt=...``, run in this process (so that its peak memory is this process's)."""
    from levasa.apps import evaluate

    out = work / "eval_run"
    sys.argv = ["evaluate.py", f"ckpt={ckpt}", f"hydra.run.dir={out}", f"paths.data_dir={work}"]
    evaluate.main()
    metrics = json.loads((out / "metrics.json").read_text())
    return {"seconds": metrics["run"]["wall_time_s"], "n_train": metrics["run"]["n_train"]}


def run_step(*args: str) -> tuple[dict, float, float]:
    """(the step's JSON, its process's peak resident MiB, the process's wall seconds) of ``--step args...`` run in a
    fresh process (the peak as the process measured it: its ``VmHWM``)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--step", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"step {args} failed:\n{stderr[-4000:]}")
    line = [ln for ln in stdout.splitlines() if ln.startswith("{")][-1]
    result = json.loads(line)
    return result, result.pop("peak_mib"), wall


def _status_mib(field: str) -> float:
    """``field`` of ``/proc/self/status`` (``VmHWM``: this process's peak resident memory) in MiB; NaN if unknown."""
    try:
        line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith(f"{field}:"))
    except (OSError, StopIteration):
        return float("nan")
    return int(line.split()[1]) / 1024


def _mapped_mib(folder: Path) -> float:
    """Resident MiB of this process's memory maps of files under ``folder`` (the cache's pages read so far)."""
    total, inside = 0, False
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        head = line.split(maxsplit=5)
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's first line: address perms ... path
            inside = len(head) == 6 and head[5].startswith(str(folder))
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total / 1024


def child(args: list[str]) -> None:
    """The body of a ``--step`` process."""
    name, *rest = args
    if name == "reader":
        result = step_reader(Path(rest[0]), assume_present=rest[1:] == ["present"])
    elif name == "cache":
        result = step_cache(Path(rest[0]), Path(rest[1]))
    elif name == "epoch":
        result = step_epoch(Path(rest[0]), Path(rest[1]), int(rest[2]))
    elif name == "evaluate":
        result = step_evaluate(Path(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown step {name!r}")
    result["peak_mib"] = _status_mib("VmHWM")  # per address space: a fresh process starts from zero
    result["mapped_mib"] = _mapped_mib(Path(rest[1] if name in ("cache", "epoch") else rest[0]) / "cache")
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------------ the report


def slope(sizes: list[int], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(size): 1 is linear, above 1 grows faster."""
    if len(sizes) < 2 or any(v <= 0 for v in values):
        return float("nan")
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def plot(path: Path, sizes: list[int], table: dict[str, dict[int, dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for step in STEPS:
        ax_t.loglog(sizes, [table[step][n]["seconds"] for n in sizes], "o-", label=step)
        ax_m.loglog(sizes, [table[step][n]["peak_mib"] for n in sizes], "o-", label=step)
    ref = np.array(sizes, dtype=float)
    first = min(table[s][sizes[0]]["seconds"] for s in STEPS)
    ax_t.loglog(ref, first * ref / ref[0], "k:", label="linear")
    ax_t.set(xlabel="faces N", ylabel="seconds", title="time")
    ax_m.set(xlabel="faces N", ylabel="peak resident MiB", title="peak memory (own process)")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--step":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,30000,100000", help="comma-separated numbers of faces")
    parser.add_argument("--label-rows", type=int, default=1_000_000, help="rows of the 2017 label file (0: none)")
    parser.add_argument("--val-share", type=float, default=0.05, help="share of the faces in val_set (test split)")
    parser.add_argument("--steps-per-epoch-cap", type=int, default=0, help="run only K steps, extrapolate (0: all)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (default: a temporary file)")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,3000 and a 100k-row label file")
    parser.add_argument("--keep", type=Path, default=None, help="write the data here and keep it (default: temp)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.label_rows = "1000,3000", min(args.label_rows, 100_000)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from common import cpu_flags, machine

    print(f"machine: {machine()}")
    print(f"CPU flags: {cpu_flags()}")
    print(f"sizes {sizes}, val share {args.val_share}, label file {args.label_rows:,} rows; {os.cpu_count()} cores")
    workers = min(8, os.cpu_count() or 1)
    table: dict[str, dict[int, dict]] = {step: {} for step in STEPS}
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        plot_path = args.plot or Path(tmp) / "scaling.png"
        for n in sizes:
            root, work = base / f"affectnet_{n}", base / f"work_{n}"
            work.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            write_affectnet2021(root, n, args.val_share, workers)
            print(f"\n## N = {n:,} faces (written in {time.perf_counter() - start:.0f} s, not counted)\n")
            rows = {}
            rows["reader"] = run_step("reader", str(root))
            rows["cache"] = run_step("cache", str(root), str(work))
            rows["epoch"] = run_step("epoch", str(root), str(work), str(args.steps_per_epoch_cap))
            rows["evaluate"] = run_step("evaluate", str(work), rows["epoch"][0]["ckpt"])
            print("| step | time (s) | per face (ms) | peak RSS (MiB) | cache mapped (MiB) | process (s) | notes |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
            for step, (result, peak, wall) in rows.items():
                table[step][n] = {**result, "peak_mib": peak}
                notes = ""
                if step == "reader":
                    notes = f"{result['rows_kept']:,} rows"
                elif step == "cache":
                    notes = f"{result['images_per_s']:,.0f} images/s, {result['bytes'] / 2**20:,.0f} MiB on disk"
                elif step == "epoch":
                    notes = f"{result['per_step_s'] * 1000:.0f} ms/step measured, {result['precision']}; "
                    if result["extrapolated"]:
                        notes += f"EXTRAPOLATED from {result['steps']} of {result['full_steps']} steps"
                    else:
                        notes += f"full epoch, {result['steps']} steps"
                elif step == "evaluate":
                    notes = f"evaluate.py's run.wall_time_s; probes on {result['n_train']:,} training faces"
                ms = 1000 * result["seconds"] / n
                mapped = result["mapped_mib"]
                figures = f"{result['seconds']:.1f} | {ms:.2f} | {peak:,.0f} | {mapped:,.0f} | {wall:.1f}"
                print(f"| {step} | {figures} | {notes} |")
            if args.keep is None:
                import shutil

                shutil.rmtree(root)  # the next size's faces need the disk more than this one's
        if args.label_rows:
            root = base / "affectnet2017_labels"
            start = time.perf_counter()
            write_label_file(root, args.label_rows)
            megabytes = (root / "Manually_Annotated_file_lists" / "training.csv").stat().st_size / 2**20
            print(
                f"\n## The 2017 label file: {args.label_rows:,} rows, {megabytes:,.0f} MiB "
                f"(written in {time.perf_counter() - start:.0f} s), no images\n"
            )
            print("| reader | time (s) | per row (us) | peak RSS (MiB) | rows kept |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for mode, label in (("absent", "images absent: parsed, then skipped"), ("present", "existence assumed")):
                result, peak, _ = run_step("reader", str(root), mode)
                us = 1e6 * result["seconds"] / args.label_rows
                print(f"| {label} | {result['seconds']:.1f} | {us:.1f} | {peak:,.0f} | {result['rows_kept']:,} |")
        print("\n## Growth from the smallest to the largest size\n")
        print(
            f"| step | log-log slope of time vs N (1 = linear) | peak RSS at N={sizes[-1]:,} / N={sizes[0]:,} "
            "| peak RSS added per face (KiB) |"
        )
        print("| --- | ---: | ---: | ---: |")
        for step in STEPS:
            times = [table[step][n]["seconds"] for n in sizes]
            peaks = [table[step][n]["peak_mib"] for n in sizes]
            per_face = 1024 * (peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0])
            print(f"| {step} | {slope(sizes, times):.2f} | {peaks[-1] / peaks[0]:.2f} | {per_face:.1f} |")
        per_step = [table["epoch"][n]["per_step_s"] for n in sizes]
        print(
            f"(N grew {sizes[-1] / sizes[0]:.1f}x; a slope near 1 and a ratio near 1 are what bounded costs look like. "
            f"Training time per step at N={sizes[-1]:,} / N={sizes[0]:,}: {per_step[-1] / per_step[0]:.2f}, "
            "which should be 1: far from it, the machine's load changed between the sizes or a step grows with N.)"
        )
        plot(plot_path, sizes, table)
        print(f"\nplot: {plot_path}" + (" (temporary, removed at exit)" if args.plot is None else ""))


if __name__ == "__main__":
    main()
