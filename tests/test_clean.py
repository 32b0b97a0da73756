"""``make clean`` removes caches and build litter, never a trained run (issue 16)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

KEPT = [
    "outputs/reproduce/runs/levasa-seed0/checkpoints/best.ckpt",
    "outputs/runs/2024-01-01/12-00-00/checkpoints/best.ckpt",
    "outputs/multiruns/2024-01-01_12-00-00/0/eval/metrics.json",
    "outputs/demo/2024-01-01_12-00-00/eval/report.md",
    "lightning_logs/version_0/checkpoints/epoch=0.ckpt",
    "data/affectnet/Manually_Annotated_file_lists/training.csv",
    "data/README.md",
    "annotations/imfdb_va.json",
    ".venv/lib/site.py",
    ".venv/lib/__pycache__/site.cpython-311.pyc",
]
REMOVED = [
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.1/x",
    ".hypothesis/examples/x",
    "src/levasa/__pycache__/x.cpython-311.pyc",
    "tests/__pycache__/x.cpython-311.pyc",
    "src/levasa.egg-info/PKG-INFO",
    "build/lib/x.py",
    "dist/levasa-0.1.0.whl",
    "data/cache/affectnet-64px-0123abcd-0123456789abcdef/images.npy",
    "data/synthetic/synthetic_0123456789abcdef.npz",
]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_clean_keeps_runs_and_removes_caches_and_build_litter(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for rel in KEPT + REMOVED:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    result = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [rel for rel in KEPT if not (tmp_path / rel).exists()] == []
    assert [rel for rel in REMOVED if (tmp_path / rel).exists()] == []
