"""A non-editable install (a built wheel), used from a directory outside the checkout: the config tree ships with
the package, so training, evaluation with group overrides and transfer work without a source checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

TINY = ["data.image_size=32", "data.n_identities=12", "data.expressions_per_identity=8", "data.batch_size=16"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A wheel of the checkout installed into its own folder (no dependencies: they come from this environment),
    and the environment that puts it first on the path."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a copy, so that the build writes nothing into the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp),
        str(source),
    ]
    subprocess.run(build, check=True, capture_output=True)
    wheel = next(tmp.glob("levasa-*.whl"))
    target = tmp / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    return target, {**os.environ, "PYTHONPATH": str(target)}


def run(env: dict[str, str], cwd: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_installed_package_trains_evaluates_and_transfers_outside_the_checkout(installed, tmp_path):
    target, env = installed
    found = subprocess.run(
        [sys.executable, "-c", "import levasa.conf, levasa; print(levasa.__file__); print(levasa.conf.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in found), found  # not the checkout's source tree
    assert (target / "levasa" / "conf" / "data" / "imfdb.yaml").is_file()

    data = f"paths.data_dir={tmp_path / 'data'}"
    run(env, tmp_path, "levasa.apps.train", *TINY, "debug=fdr", data, f"hydra.run.dir={tmp_path / 'fdr'}")
    run(env, tmp_path, "levasa.apps.train", *TINY, "debug=limit", data, f"hydra.run.dir={tmp_path / 'run'}")
    ckpt = tmp_path / "run" / "checkpoints" / "best.ckpt"
    assert ckpt.is_file()

    out = tmp_path / "eval"
    args = [f"ckpt={ckpt}", "split=val", "data=synthetic", *TINY, data, "probes.max_train=100", "probes.max_figure=8"]
    printed = run(env, tmp_path, "levasa.apps.evaluate", *args, "probes.n_jobs=1", f"hydra.run.dir={out}").stdout
    assert printed.strip().splitlines()[-1] == f"Report: {out / 'report.md'}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["split"] == "val" and metrics["run"]["n_test"] > 0
    assert "data=synthetic" in metrics["run"]["run_overrides"]

    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a.jpg": "Happy", "b.jpg": "Sad", "c.jpg": "Anger"}))
    converted = tmp_path / "va.json"
    run(env, tmp_path, "levasa.apps.transfer", f"input={labels}", f"output={converted}", f"hydra.run.dir={tmp_path}")
    va = json.loads(converted.read_text())
    assert set(va) == {"a.jpg", "b.jpg", "c.jpg"} and va["a.jpg"][0] > 0 > va["b.jpg"][0]
