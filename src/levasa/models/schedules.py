"""Learning-rate schedules stepped once per optimizer step.

A schedule in config is a partial constructor called as ``factory(optimizer, total_steps=N)``, where the
module supplies ``N`` from the trainer (``trainer.estimated_stepping_batches``).
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(
    optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.05, floor: float = 0.02
) -> LambdaLR:
    """Linear warm-up over ``warmup_fraction`` of the steps, then cosine decay to ``floor`` times the base LR."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be positive, found {total_steps}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must lie in [0, 1), found {warmup_fraction}")
    warmup = int(warmup_fraction * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)
