"""Training-step throughput: the full Lightning loop against the bare model step, precision and layout options,
and the step's FLOPs against the CPU's peak. Everything side by side in one run.

    python benchmarks/bench_training.py [--steps 20] [--warmup 4] [--repeats 2] [--image-size 64] [--batch-size 64]

- bare step: the default LeVAsa model and objective, a plain PyTorch loop (forward, objective, backward,
  Adam) over batches already in memory: no Lightning, no data loading.
- Lightning loop: ``trainer.fit`` with the default trainer, callbacks (checkpoints, image grids, progress bar)
  and TensorBoard logger, reading the cached synthetic set through the datamodule's DataLoader; timed from the
  first step after the warm-up to the last step's end (validation off so that only training steps count).
- options on the bare step: bf16 autocast, channels_last, both.
- FLOPs of one training step by ``torch.utils.flop_counter``; achieved FLOP/s against a measured fp32 matmul
  (the best this CPU does in practice) and against the nominal peak (cores x GHz x 32 fp32 FLOP/cycle for AVX2
  or AVX-512 FMA on two units).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import (
    bare_steps,
    build,
    images_per_second,
    lightning_throughput,
    machine,
    preloaded_batches,
    seed_all,
    train_config,
)
from torch.utils.flop_counter import FlopCounterMode


def bare_throughput(overrides: list[str], steps: int, warmup: int, out: Path, variant: str) -> float:
    cfg = train_config(overrides, out)
    seed_all(cfg.seed)
    datamodule, module = build(cfg)
    batches = preloaded_batches(datamodule, warmup + steps)
    if "channels_last" in variant:
        module = module.to(memory_format=torch.channels_last)
        batches = [b | {"image": b["image"].contiguous(memory_format=torch.channels_last)} for b in batches]
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    autocast = "bf16" in variant
    bare_steps(module, optimizer, batches[:warmup], autocast)()
    return images_per_second(bare_steps(module, optimizer, batches[warmup:], autocast))


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        overrides = [
            f"data.image_size={args.image_size}",
            f"data.batch_size={args.batch_size}",
            f"paths.data_dir={Path('data').resolve()}",
        ]
        print(f"Machine: {machine()}")
        print(f"Default LeVAsa, {args.image_size}x{args.image_size}, batch {args.batch_size}, {args.steps} timed steps")
        results: dict[str, float] = {}
        for _ in range(args.repeats):
            for name, run in (
                ("bare step, fp32", lambda: bare_throughput(overrides, args.steps, args.warmup, out, "fp32")),
                ("Lightning loop, fp32", lambda: lightning_throughput(overrides, args.steps, args.warmup, out)),
            ):
                results[name] = max(results.get(name, 0.0), run())
        for variant in ("bf16", "channels_last", "channels_last+bf16"):
            results[f"bare step, {variant}"] = bare_throughput(overrides, args.steps, args.warmup, out, variant)
        bf16_loop = [*overrides, "trainer.precision=bf16-mixed"]
        results["Lightning loop, bf16-mixed"] = lightning_throughput(bf16_loop, args.steps, args.warmup, out)
        flops = step_flops(overrides, out)
    base = results["bare step, fp32"]
    print("\n| way | images/s | vs bare fp32 step |")
    print("| --- | --- | --- |")
    for name, value in results.items():
        print(f"| {name} | {value:.1f} | {value / base:.2f} |")
    measured = matmul_flops_per_second()
    peak, how = nominal_peak()
    achieved = flops * base
    print(f"\nFLOPs per image (one training step): {flops / 1e9:.3f} GFLOP")
    print(f"achieved by the bare fp32 step: {achieved / 1e9:.1f} GFLOP/s")
    print(f"fp32 2048x2048 matmul on this CPU: {measured / 1e9:.1f} GFLOP/s -> step at {achieved / measured:.0%} of it")
    print(f"nominal peak ({how}): {peak / 1e9:.1f} GFLOP/s -> step at {achieved / peak:.0%} of it")


if __name__ == "__main__":
    main()
