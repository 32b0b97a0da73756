"""Training-step throughput: the full Lightning loop against the bare model step, precision, layout and compiler
options, bf16's metric parity, and the step's FLOPs against the CPU's peak. Everything side by side in one run.

    python benchmarks/bench_training.py [--steps 20] [--warmup 4] [--repeats 2] [--image-size 64] [--batch-size 64]
                                        [--parity-steps 48] [--no-compile]

- bare step: the default LeVAsa model and objective, a plain PyTorch loop (forward, objective, backward,
  Adam) over batches already in memory: no Lightning, no data loading.
- Lightning loop: ``trainer.fit`` with the default trainer, callbacks (checkpoints, image grids, progress bar)
  and TensorBoard logger, reading the cached synthetic set through the datamodule's DataLoader; timed over the
  steps inside an epoch after the warm-up (validation off so that only training steps count).
- options on the bare step: the NCHW layout (``model.channels_last=false``; the default is NHWC), bf16 autocast,
  ``torch.compile`` (``compile=true``; its compilation time is printed); on the loop: ``trainer.precision=bf16-mixed``.
- bf16 parity: ``--parity-steps`` steps of the Lightning loop in fp32 and in bf16-mixed from the same seed, then
  the readout CCC on the validation split (fp32 evaluation of both models).
- FLOPs of one training step by ``torch.utils.flop_counter``; achieved FLOP/s against a measured fp32 matmul
  (the best this CPU does in practice) and against the nominal peak (cores x GHz x 32 fp32 FLOP/cycle for AVX2
  or AVX-512 FMA on two units). The CPU's bf16 instructions (avx512_bf16, amx_bf16) are listed, or their absence.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from common import (
    bare_steps,
    build,
    cpu_flags,
    images_per_second,
    lightning_throughput,
    machine,
    preloaded_batches,
    seed_all,
    train_config,
)
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

from levasa.machine import resolve_precision


def bare_throughput(
    overrides: list[str], steps: int, warmup: int, out: Path, autocast: bool = False, compile_: bool = False
) -> tuple[float, float]:
    """Best images/s of the bare step on the config with ``overrides``, and the warm-up's seconds."""
    cfg = train_config(overrides, out)
    seed_all(cfg.seed)
    datamodule, module = build(cfg)
    batches = preloaded_batches(datamodule, warmup + steps)
    if compile_:
        module.forward = torch.compile(module.forward)
        module.objective = torch.compile(module.objective)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    start = time.perf_counter()
    bare_steps(module, optimizer, batches[:warmup], autocast)()
    warm_s = time.perf_counter() - start
    return images_per_second(bare_steps(module, optimizer, batches[warmup:], autocast)), warm_s


def readout_ccc(overrides: list[str], steps: int, out: Path) -> tuple[float, float, float]:
    """Train ``steps`` steps of the Lightning loop, then the fp32 readout CCC (valence, arousal) on the
    validation split; and the training images/s."""
    cfg = train_config(overrides, out)
    seed_all(cfg.seed)
    datamodule, module = build(cfg)
    trainer = instantiate(
        cfg.trainer,
        max_steps=steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    rate = steps * cfg.data.batch_size / (time.perf_counter() - start)
    fp32 = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, precision="32-true")
    (result,) = fp32.validate(module, datamodule=datamodule, verbose=False)
    return result["val/align/ccc_v"], result["val/align/ccc_a"], rate


def step_flops(overrides: list[str], out: Path) -> float:
    """FLOPs of one training step (forward, objective, backward) per image."""
    cfg = train_config(overrides, out)
    datamodule, module = build(cfg)
    batch = preloaded_batches(datamodule, 1)[0]
    with FlopCounterMode(display=False) as counter:
        out_ = module(batch["image"])
        module.objective(out_, batch["image"], batch["va"]).loss.backward()
    return counter.get_total_flops() / batch["image"].shape[0]


def matmul_flops_per_second(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def nominal_peak() -> tuple[float, str]:
    """Cores x max GHz x 32 fp32 FLOP per cycle (two FMA units of 8 lanes), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return float("nan"), "unknown"
    mhz = max(float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz"))
    cores = torch.get_num_threads()
    return cores * mhz * 1e6 * 32, f"{cores} cores x {mhz / 1000:.2f} GHz x 32 FLOP/cycle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds; the best of each way is kept")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--parity-steps", type=int, default=48, help="0 skips the bf16 parity runs")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (about a minute to compile)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        overrides = [
            f"data.image_size={args.image_size}",
            f"data.batch_size={args.batch_size}",
            f"paths.data_dir={Path('data').resolve()}",
            "trainer.precision=32-true",  # the fp32 ways: the default (auto) is bf16 on CPUs with bf16 instructions
        ]
        nchw = [*overrides, "model.channels_last=false"]
        print(f"Machine: {machine()}")
        print(f"CPU instructions: {cpu_flags()}")
        print(f"Default LeVAsa, {args.image_size}x{args.image_size}, batch {args.batch_size}, {args.steps} timed steps")
        results: dict[str, float] = {}
        notes: dict[str, str] = {}

        def keep(name: str, value: float) -> None:
            results[name] = max(results.get(name, 0.0), value)

        bf16 = [*overrides, "trainer.precision=bf16-mixed"]
        for _ in range(args.repeats):  # alternating, best of each: the fp32 and bf16 loops see the same noise
            default = bare_throughput(overrides, args.steps, args.warmup, out)[0]
            keep("bare step (fp32, channels_last)", default)
            timer = lightning_throughput(overrides, args.steps, args.warmup, out)
            keep("Lightning loop, trainer.precision=32-true", timer.images_per_second)
            timer = lightning_throughput(bf16, args.steps, args.warmup, out)
            keep("Lightning loop, trainer.precision=bf16-mixed", timer.images_per_second)
            keep("bare step, NCHW (model.channels_last=false)", bare_throughput(nchw, args.steps, args.warmup, out)[0])
        rate, _ = bare_throughput(overrides, args.steps, args.warmup, out, autocast=True)
        results["bare step, bf16 autocast"] = rate
        auto, why = resolve_precision("auto", "cpu")
        notes["Lightning loop, trainer.precision=bf16-mixed"] = f"precision=auto here: {auto} ({why})"
        if not args.no_compile:
            rate, warm_s = bare_throughput(overrides, args.steps, args.warmup, out, compile_=True)
            results["bare step, torch.compile"] = rate
            notes["bare step, torch.compile"] = f"{args.warmup} warm-up steps incl. compilation: {warm_s:.0f} s"
        flops = step_flops(overrides, out)
        parity = {}
        if args.parity_steps:
            for name, way in (("fp32", overrides), ("bf16-mixed", bf16)):
                parity[name] = readout_ccc(way, args.parity_steps, out)
    base = results["bare step (fp32, channels_last)"]
    print("\n| way | images/s | vs bare default step | note |")
    print("| --- | --- | --- | --- |")
    for name, value in results.items():
        print(f"| {name} | {value:.1f} | {value / base:.2f} | {notes.get(name, '')} |")
    if parity:
        print(f"\nbf16 parity after {args.parity_steps} steps of the Lightning loop (same seed; fp32 evaluation):")
        print("| precision | readout ccc_v | readout ccc_a | training images/s |")
        print("| --- | --- | --- | --- |")
        for name, (ccc_v, ccc_a, rate) in parity.items():
            print(f"| {name} | {ccc_v:.3f} | {ccc_a:.3f} | {rate:.1f} |")
    measured = matmul_flops_per_second()
    peak, how = nominal_peak()
    achieved = flops * base
    print(f"\nFLOPs per image (one training step): {flops / 1e9:.3f} GFLOP")
    print(f"achieved by the bare default step: {achieved / 1e9:.1f} GFLOP/s")
    print(f"fp32 2048x2048 matmul on this CPU: {measured / 1e9:.1f} GFLOP/s -> step at {achieved / measured:.0%} of it")
    print(f"nominal peak ({how}): {peak / 1e9:.1f} GFLOP/s -> step at {achieved / peak:.0%} of it")


if __name__ == "__main__":
    main()
