"""Synthetic face rendering on one core: the batched renderer vs the same images one at a time.

    python benchmarks/bench_synthetic.py [--n 2048] [--repeats 3]

Both sides call :func:`levasa.data.synthetic.render.render` on the same expressions and identities; the
one-at-a-time side passes batches of one, which is what a per-sample ``__getitem__`` renderer would do.
Prints ms/image (best of ``--repeats``) and the ratio, at 64x64 and 32x32.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core; must precede the numpy import

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from levasa.annotation.sampling import sample_expressions  # noqa: E402
from levasa.data.synthetic.identities import sample_identities  # noqa: E402
from levasa.data.synthetic.render import render  # noqa: E402
from levasa.machine import cpu_model  # noqa: E402


def best_ms_per_image(fn, n_images: int, repeats: int) -> float:
    """Best wall time of ``fn()`` over ``repeats`` runs, in ms per image."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) / n_images * 1e3


def bench(size: int, n: int, n_single: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    nuisance = sample_identities(n, rng)
    va = sample_expressions(n, rng)[0]
    render(va[:64], nuisance[:64], size)  # warm up

    def batched() -> None:
        out = render(va, nuisance, size)
        assert out.shape == (n, size, size, 3) and out.std() > 0

    def one_at_a_time() -> None:
        outs = [render(va[i : i + 1], nuisance[i : i + 1], size) for i in range(n_single)]
        assert len(outs) == n_single and outs[-1].std() > 0

    fast = best_ms_per_image(batched, n, repeats)
    slow = best_ms_per_image(one_at_a_time, n_single, repeats)
    print(
        f"{size:>3}x{size:<3}  batched {fast:7.3f} ms/img ({n} images)   "
        f"one at a time {slow:7.3f} ms/img ({n_single} images)   ratio {slow / fast:5.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048, help="images rendered by the batched side")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"cpu: {cpu_model()}; threads: 1; python {platform.python_version()}, numpy {np.__version__}")
    for size in (64, 32):
        bench(size, args.n, max(1, args.n // 8), args.repeats)


if __name__ == "__main__":
    main()
