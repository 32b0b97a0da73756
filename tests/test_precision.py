"""trainer.precision=auto: bf16-mixed where the hardware runs bf16 natively, fp32 elsewhere; the CPU flags are
faked, so that both branches are checked on any machine."""

from __future__ import annotations

import logging

import pytest

import levasa.machine
from levasa.jobs.training import train
from levasa.machine import resolve_precision
from levasa.models.checkpoint import read_checkpoint


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx512f", "avx512_bf16", "avx2"}, "bf16-mixed"),
        ({"amx_bf16", "amx_tile"}, "bf16-mixed"),
        ({"avx512f", "avx2", "fma"}, "32-true"),  # AVX-512 without its bf16 extension: emulated, so fp32
        ({"avx2"}, "32-true"),
        (set(), "32-true"),  # flags unreadable (not Linux): the safe choice
    ],
)
def test_auto_follows_the_cpu_flags(flags, expected):
    resolved, why = resolve_precision("auto", "cpu", flags=flags)
    assert resolved == expected
    assert ("natively" in why) == (expected == "bf16-mixed")


def test_auto_on_a_gpu_follows_its_bf16_support_and_other_values_pass_through():
    assert resolve_precision("auto", "gpu", flags=set(), gpu_bf16=True)[0] == "bf16-mixed"
    assert resolve_precision("auto", "gpu", flags={"avx512_bf16"}, gpu_bf16=False)[0] == "32-true"
    for value in ("32-true", "bf16-mixed", "16-mixed", 32):
        assert resolve_precision(value, "cpu", flags={"avx512_bf16"}) == (str(value), "as configured")


@pytest.mark.parametrize(("flags", "expected"), [({"avx512_bf16"}, "bf16-mixed"), ({"avx2"}, "32-true")])
def test_a_run_stores_and_logs_the_precision_auto_resolved_to(make_cfg, monkeypatch, caplog, flags, expected):
    monkeypatch.setattr(levasa.machine, "cpu_flags", lambda: flags)
    cfg = make_cfg("trainer.precision=auto", "debug=limit", "trainer.limit_train_batches=2")
    with caplog.at_level(logging.INFO, logger="levasa.jobs.training"):
        metrics = train(cfg)
    stored = read_checkpoint(metrics["run"]["best_checkpoint"])["hyper_parameters"]["config"]
    assert stored["trainer"]["precision"] == expected and metrics["run"]["precision"] == expected
    assert f"trainer.precision=auto resolved to {expected}" in caplog.text
