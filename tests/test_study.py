"""The reproduction study (python reproduce.py) on a tiny grid: every run trained and evaluated into its own
directory, docs/RESULTS.md-style report with tables, sweep, figure and a verdict per claim; resumable. The report
itself is also rendered from synthesized runs, without training."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from levasa.config import compose_config
from levasa.models.checkpoint import read_checkpoint
from levasa.study.rendering import render_results
from levasa.study.running import run_directory, run_study, study_jobs
from levasa.study.runs import Run
from tests.helpers import ROOT, TINY

TINY_TRAIN = [o for o in TINY if not o.startswith("trainer.max_epochs")]


def quoted_list(key: str, overrides: list[str]) -> str:
    """``key=['a=1','b=2']``: a list of overrides as one Hydra override (quoted, since they hold ``=``)."""
    return f"{key}=[" + ",".join(f"'{o}'" for o in overrides) + "]"


def study_config(tmp_path: Path, *overrides: str):
    return compose_config(
        "reproduce",
        [
            "analogues=[synthetic_imfdb]",
            "~models.levasa_mse",
            "~models.levasa_ce",
            "seeds=[0,1]",
            "epochs=1",
            "sweep.alphas=[0,100]",
            quoted_list("train_overrides", [*TINY_TRAIN, f"paths.data_dir={tmp_path / 'data'}"]),
            quoted_list("evaluate_overrides", ["probes.n_jobs=1", "probes.max_figure=16"]),
            f"output_dir={tmp_path / 'study'}",
            f"results={tmp_path / 'docs' / 'RESULTS.md'}",
            *overrides,
        ],
    )


@pytest.mark.slow
def test_study_trains_evaluates_reports_and_resumes(tmp_path):
    cfg = study_config(tmp_path)
    assert study_jobs(cfg) == [
        ("synthetic_imfdb", "vanilla", 100.0, 0),
        ("synthetic_imfdb", "vanilla", 100.0, 1),
        ("synthetic_imfdb", "levasa_linear", 100.0, 0),
        ("synthetic_imfdb", "levasa_linear", 100.0, 1),
        ("synthetic_imfdb", "levasa_linear", 0.0, 0),
        ("synthetic_imfdb", "levasa_linear", 0.0, 1),
    ]
    runs = run_study(cfg)
    assert len(runs) == 6
    for run in runs:  # every number traceable to a run directory holding its checkpoint and report
        assert (run.directory / "checkpoints" / "best.ckpt").exists()
        assert (run.directory / "eval" / "report.md").exists()
        assert run.metrics["run"]["seed"] == run.seed
    assert runs[-1].directory == tmp_path / "study" / "synthetic_imfdb" / "levasa_linear_alpha0" / "seed1"
    text = (tmp_path / "docs" / "RESULTS.md").read_text()
    for heading in ("Table 1", "Table 2", "Table 3", "Reconstruction", "Alignment weight sweep", "Verdicts"):
        assert heading in text
    assert "6 runs (6 trained and evaluated, 0 read back" in text
    for run in runs:  # the Runs appendix names every run directory
        assert f"`{run.directory.as_posix()}`" in text
    assert "majority class" in text and "oracle" in text and "Paper:" in text
    assert " ± " in text  # two seeds: a spread
    for claim in range(1, 5):
        (line,) = [ln for ln in text.splitlines() if ln.startswith(f"- **Claim {claim},")]
        assert any(v in line for v in ("**holds", "**does not hold**", "**not tested")), line
    assert (tmp_path / "docs" / "figures" / "results_tradeoff.png").stat().st_size > 10_000

    ckpt = runs[0].directory / "checkpoints" / "best.ckpt"
    before = ckpt.stat().st_mtime_ns
    again = run_study(cfg)  # finished runs are read back, not retrained
    assert ckpt.stat().st_mtime_ns == before
    assert [r.metrics for r in again] == [r.metrics for r in runs]
    assert not any(r.trained for r in again)
    assert "6 runs (0 trained and evaluated, 6 read back" in (tmp_path / "docs" / "RESULTS.md").read_text()

    retrained = runs[2].directory / "checkpoints" / "best.ckpt"
    stamp = retrained.stat().st_mtime_ns
    other = run_study(study_config(tmp_path, "seeds=[0]", "~models.vanilla", "sweep.alphas=[100]", "epochs=2"))
    assert other[0].directory == runs[2].directory  # same directory, other settings: trained again
    assert retrained.stat().st_mtime_ns != stamp
    assert read_checkpoint(retrained)["hyper_parameters"]["config"]["trainer"]["max_epochs"] == 2


ONE_RUN = ("seeds=[0]", "~models.vanilla", "sweep.alphas=[100]")
"""Study overrides that leave one job: levasa_linear at alpha 100, seed 0."""


def test_a_retrain_interrupted_after_its_first_checkpoint_is_not_read_back_with_the_old_results(tmp_path):
    """Issue 16, point 3: ``finished`` used to check only that best.ckpt and eval/metrics.json exist and that the
    checkpoint's config matches, so a retrain killed after writing its first best.ckpt was read back with the old
    run's metrics. The evaluation now records the checkpoint's SHA-256 and step, and they are checked."""
    cfg = study_config(tmp_path, *ONE_RUN)
    (run,) = run_study(cfg)
    ckpt = run.directory / "checkpoints" / "best.ckpt"

    # what a retrain with the same settings leaves when killed after its first save: another best.ckpt, same config
    contents = torch.load(ckpt, weights_only=True)
    contents["global_step"] = 1
    name = next(k for k, v in contents["state_dict"].items() if v.is_floating_point())
    contents["state_dict"][name] = contents["state_dict"][name] + 0.01
    torch.save(contents, ckpt)
    (again,) = run_study(cfg)
    assert again.trained, "the old evaluation was read back for a checkpoint it was not computed from"
    assert again.metrics["run"]["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert again.metrics["run"]["checkpoint_step"] == read_checkpoint(ckpt)["global_step"] > 1


def test_a_run_being_retrained_has_its_old_results_removed_first(tmp_path, monkeypatch):
    import levasa.study.running as running

    cfg = study_config(tmp_path, *ONE_RUN)
    (run,) = run_study(cfg)
    assert (run.directory / "eval" / "metrics.json").is_file()

    def killed(train_cfg):
        raise KeyboardInterrupt("the retrain was stopped")

    monkeypatch.setattr(running, "train", killed)
    with pytest.raises(KeyboardInterrupt):
        run_study(study_config(tmp_path, *ONE_RUN, "rerun=true"))
    for left in ("eval", "metrics.json", "checkpoints"):
        assert not (run.directory / left).exists(), f"{left} of the old run survived the start of its retraining"


def test_fast_keeps_one_seed_and_the_fast_alphas(tmp_path):
    cfg = compose_config("reproduce", ["fast=true"])
    jobs = study_jobs(cfg)
    assert {seed for *_, seed in jobs} == {0}
    assert len(jobs) == 2 * 4 + 1  # each model on each analogue, plus the sweep's alpha=0
    assert ("synthetic_imfdb", "levasa_linear", 0.0, 0) in jobs


def test_bad_study_configs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"sweep\.model 'levasa_bce' is not one of models"):
        run_study(study_config(tmp_path, "sweep.model=levasa_bce"))
    with pytest.raises(ValueError, match=r"sweep\.analogue 'paper_imfdb' is not one of analogues"):
        run_study(study_config(tmp_path, "sweep.analogue=paper_imfdb"))
    with pytest.raises(ValueError, match="seeds is empty"):
        run_study(study_config(tmp_path, "seeds=[]"))
    assert not (tmp_path / "study").exists()


def synthetic_metrics(model: str, alpha: float, seed: int) -> dict[str, Any]:
    """metrics.json of a run, made up: the aligned chunks of levasa_linear and levasa_mse hold VA (0.9), the
    Vanilla VAE's and levasa_ce's none (0.0); seeds 0, 1, 2 spread every number by 0.01; PSNR falls with alpha."""
    q = 0.9 if model in ("levasa_linear", "levasa_mse") and alpha > 0 else 0.0
    e = 0.01 * (seed - 1)
    r2 = {"r2": q + e}
    metrics: dict[str, Any] = {
        "va_regression": {
            chunk: {kind: {"valence": r2, "arousal": r2} for kind in ("linear", "mlp")} for chunk in ("z_v", "z_a")
        },
        "emotion_probe": {
            **{f: {"accuracy": 0.3 + 0.3 * q + e} for f in ("z_v", "z_a", "z_va", "z_z", "z_all")},
            "majority_baseline": {"accuracy": 0.3165},
            "oracle_accuracy": 0.9,
        },
        "reconstruction": {"psnr": 20 - alpha / 100 + e, "mse": 0.02, "ssim": 0.5},
    }
    if model != "vanilla":  # a Vanilla VAE has no readout
        axis = {"ccc": q + e, "mse": 0.1 - e}
        metrics["alignment"] = metrics["alignment_true_va"] = {"valence": axis, "arousal": axis}
    return metrics


def test_results_render_tables_and_verdicts_from_the_runs(tmp_path):
    cfg = compose_config("reproduce", ["sweep.alphas=[0,100]", f"output_dir={tmp_path}"])
    runs = [
        Run(a, m, alpha, s, run_directory(cfg, a, m, alpha, s), synthetic_metrics(m, alpha, s), trained=s != 2)
        for a, m, alpha, s in study_jobs(cfg)
    ]
    text = render_results(cfg, runs, 12.3, Path("figures/results_tradeoff.png"))
    lines = text.splitlines()
    assert "27 runs (18 trained and evaluated, 9 read back from an earlier invocation) in 12 min" in text
    assert lines.count("| model | readout CCC V | readout CCC A | readout MSE V | readout MSE A | CCC V vs true VA "
                       "| CCC A vs true VA | linear R² z_v→V | linear R² z_a→A |") == 2  # fmt: skip
    assert lines.count("| model | z_v → V | z_a → A | z_z → V | z_z → A |") == 2
    assert lines.count("| model | z_v | z_a | z_va | z_z | z_all |") == 2
    assert lines.count("| model | PSNR (dB) | per-pixel MSE | SSIM |") == 2
    assert "| alpha | readout CCC (mean of V, A) | PSNR (dB) | accuracy [z_v, z_a] | MLP R² z_v → V |" in lines
    assert lines.count("| levasa_linear | 0.900 ± 0.010 | 0.900 ± 0.010 | 0.100 ± 0.010 | 0.100 ± 0.010 "
                       "| 0.900 ± 0.010 | 0.900 ± 0.010 | 0.900 ± 0.010 | 0.900 ± 0.010 |") == 2  # fmt: skip
    assert lines.count("| vanilla | n/a | n/a | n/a | n/a | n/a | n/a | 0.000 ± 0.010 | 0.000 ± 0.010 |") == 2
    assert "| 0 | 0.000 ± 0.010 | 20.00 ± 0.01 | 0.300 ± 0.010 | 0.000 ± 0.010 |" in lines
    directory = (tmp_path / "synthetic_afew" / "vanilla" / "seed2").as_posix()
    assert f"| `{directory}` | synthetic_afew | vanilla | 100 | 2 | nan / nan | 0.310 | 19.01 | read back |" in lines
    assert "![trade-off over alpha](figures/results_tradeoff.png)" in lines
    verdicts = [ln for ln in lines if ln.startswith("- **Claim")]
    assert [v.split(". ", 1)[0] for v in verdicts] == [
        "- **Claim 1, alignment** (synthetic_imfdb): **holds only with levasa_linear, levasa_mse**",
        "- **Claim 2, VA readable from the aligned chunks** (synthetic_imfdb): **holds only with levasa_linear, "
        "levasa_mse**",
        "- **Claim 3, better downstream emotion prediction** (synthetic_imfdb): **holds only with levasa_linear, "
        "levasa_mse**",
        "- **Claim 4, alignment costs reconstruction** (synthetic_imfdb): **holds**",
        "- **Claim 1, alignment** (synthetic_afew): **holds only with levasa_linear, levasa_mse**",
        "- **Claim 2, VA readable from the aligned chunks** (synthetic_afew): **holds only with levasa_linear, "
        "levasa_mse**",
        "- **Claim 3, better downstream emotion prediction** (synthetic_afew): **holds only with levasa_linear, "
        "levasa_mse**",
    ]
    assert "The Vanilla VAE's whole latent (z_all) scores 0.300 ± 0.010, no better than the majority class" in text
    assert "PSNR (dB) by alpha: 0: 20.00 ± 0.01, 100: 19.00 ± 0.01; Vanilla VAE 19.00 ± 0.01" in text
    assert text.endswith("| 0 | 2 | 0.010 / 0.010 | 0.310 | 20.01 | read back |\n")  # the Runs appendix, last


def test_reproduce_script_help_names_its_config():
    result = subprocess.run(
        [sys.executable, str(ROOT / "reproduce.py"), "--cfg", "job", "fast=true"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "fast: true" in result.stdout and "synthetic_afew" in result.stdout
