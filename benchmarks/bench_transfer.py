"""Categorical -> VA transfer (Algorithm 1, ``ellipse``) of 10^6 labels on one core vs a per-sample Python loop.

    python benchmarks/bench_transfer.py [--n 1000000] [--loop-n 20000] [--repeats 3]

The vectorized side maps label names (synonyms, mixed case) to classes and samples the ellipses. Two per-label
loops do the same, timed on ``--loop-n`` labels and scaled to ``--n``: Algorithm 1 written per label with numpy
scalars (``rng.random()``, ``np.cos``), as it is usually transcribed, and the fastest loop we could write
(``random`` and ``math`` on Python floats). Prints ms (best of ``--repeats``) and the ratios.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core; must precede the numpy import

import argparse  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from levasa.annotation.anchors import Anchor, affectnet_anchor  # noqa: E402
from levasa.annotation.labels import LOOKUP, label_indices  # noqa: E402
from levasa.annotation.strategies import categorical_to_va  # noqa: E402

NAMES = ("Happy", "HAPPINESS", "sad", "Neutral", "surprise", "FEAR", "disgusted", "Anger", "angry", "0")


def best_ms(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``fn()`` over ``repeats`` runs, in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def numpy_loop(labels: list[str], anchor: Anchor, seed: int) -> list[tuple[float, float]]:
    """Algorithm 1 one label at a time with numpy scalars."""
    rng = np.random.default_rng(seed)
    row_of = {int(c): i for i, c in enumerate(anchor.indices)}
    out = []
    for label in labels:
        row = row_of[LOOKUP[label.strip().lower()]]
        r, theta = np.sqrt(rng.random()), rng.random() * 2 * np.pi
        out.append(tuple(anchor.mean[row] + r * np.array([np.cos(theta), np.sin(theta)]) * anchor.std[row]))
    return out


def python_loop(labels: list[str], anchor: Anchor, seed: int) -> list[tuple[float, float]]:
    """Algorithm 1 one label at a time on Python floats (``random``, ``math``): the fastest per-label loop."""
    rng = random.Random(seed)
    row_of = {int(c): i for i, c in enumerate(anchor.indices)}
    mean, std = anchor.mean.tolist(), anchor.std.tolist()
    out = []
    for label in labels:
        row = row_of[LOOKUP[label.strip().lower()]]
        r, theta = math.sqrt(rng.random()), rng.random() * 2 * math.pi
        out.append((mean[row][0] + r * math.cos(theta) * std[row][0], mean[row][1] + r * math.sin(theta) * std[row][1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--loop-n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    anchor = affectnet_anchor()
    labels = np.random.default_rng(0).choice(NAMES, size=args.n)
    keys = np.arange(args.n).astype(str)
    classes = label_indices(labels, keys)[0]
    names_ms = best_ms(lambda: categorical_to_va(label_indices(labels, keys)[0], anchor), args.repeats)
    classes_ms = best_ms(lambda: categorical_to_va(classes, anchor), args.repeats)
    few, scale = labels[: args.loop_n].tolist(), args.n / args.loop_n
    numpy_ms = best_ms(lambda: numpy_loop(few, anchor, 0), args.repeats) * scale
    python_ms = best_ms(lambda: python_loop(few, anchor, 0), args.repeats) * scale
    print(f"{args.n} labels, ellipse, one core (best of {args.repeats}; loops timed on {args.loop_n} and scaled)")
    print(f"  vectorized, names -> VA:        {names_ms:9.1f} ms")
    print(f"  vectorized, classes -> VA:      {classes_ms:9.1f} ms")
    print(
        f"  loop with numpy scalars:        {numpy_ms:9.1f} ms  ({numpy_ms / names_ms:.0f}x the vectorized names -> VA)"
    )
    print(f"  loop with Python floats:        {python_ms:9.1f} ms  ({python_ms / names_ms:.1f}x)")


if __name__ == "__main__":
    main()
