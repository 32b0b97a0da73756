"""The reproduction study (python reproduce.py) on a tiny grid: every run trained and evaluated into its own
directory, docs/RESULTS.md-style report with tables, sweep, figure and a verdict per claim; resumable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from levasa.models.checkpoint import read_checkpoint
from levasa.study import run_study, study_jobs
from tests.conftest import CONF_DIR, ROOT, TINY

TINY_TRAIN = [o for o in TINY if not o.startswith("trainer.max_epochs")]


def quoted_list(key: str, overrides: list[str]) -> str:
    """``key=['a=1','b=2']``: a list of overrides as one Hydra override (quoted, since they hold ``=``)."""
    return f"{key}=[" + ",".join(f"'{o}'" for o in overrides) + "]"


def study_config(tmp_path: Path, *overrides: str):
    return compose(
        "reproduce",
        overrides=[
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
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
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


def test_fast_keeps_one_seed_and_the_fast_alphas(tmp_path):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("reproduce", overrides=["fast=true"])
    jobs = study_jobs(cfg)
    assert {seed for *_, seed in jobs} == {0}
    assert len(jobs) == 2 * 4 + 1  # each model on each analogue, plus the sweep's alpha=0
    assert ("synthetic_imfdb", "levasa_linear", 0.0, 0) in jobs


def test_bad_study_configs_are_clear_errors(tmp_path):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        with pytest.raises(ValueError, match=r"sweep\.model 'levasa_bce' is not one of models"):
            run_study(study_config(tmp_path, "sweep.model=levasa_bce"))
        with pytest.raises(ValueError, match=r"sweep\.analogue 'paper_imfdb' is not one of analogues"):
            run_study(study_config(tmp_path, "sweep.analogue=paper_imfdb"))
        with pytest.raises(ValueError, match="seeds is empty"):
            run_study(study_config(tmp_path, "seeds=[]"))
    assert not (tmp_path / "study").exists()


def test_reproduce_script_help_names_its_config():
    result = subprocess.run(
        [sys.executable, str(ROOT / "reproduce.py"), "--cfg", "job", "fast=true"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "fast: true" in result.stdout and "synthetic_afew" in result.stdout
