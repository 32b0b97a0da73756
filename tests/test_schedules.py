"""The warm-up + cosine learning-rate schedule."""

import itertools

import pytest
import torch

from levasa.models.schedules import warmup_cosine


def lrs(total: int, **kwargs) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = warmup_cosine(opt, total, **kwargs)
    values = []
    for _ in range(total):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    return values


def test_warms_up_linearly_then_decays_to_the_floor():
    values = lrs(100, warmup_fraction=0.1, floor=0.02)
    assert values[0] == pytest.approx(0.1)
    assert values[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(values[10:]))
    assert values[-1] == pytest.approx(0.02, abs=0.01)


def test_bad_arguments_are_clear_errors():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="total_steps must be positive"):
        warmup_cosine(opt, 0)
    with pytest.raises(ValueError, match="warmup_fraction"):
        warmup_cosine(opt, 10, warmup_fraction=1.0)
