"""evaluate(cfg): rebuilds a trained run from its checkpoint and writes the full report."""

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from levasa.jobs.evaluation import evaluate
from levasa.jobs.runconfig import run_config, split_evaluate_overrides
from levasa.jobs.sweep import evaluate_sweep
from levasa.jobs.training import train
from levasa.models.checkpoint import load_module, read_checkpoint, stored_config
from tests.formats import make_imfdb
from tests.helpers import ROOT, TINY, compose_config

SECTIONS = (
    "alignment",
    "alignment_true_va",
    "va_regression",
    "emotion_probe",
    "reconstruction",
    "disentanglement",
    "generation",
    "structure",
    "run",
)
EVAL_TINY = ["probes.max_train=200", "probes.max_figure=16"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Best checkpoints of a short LeVAsa run and a short Vanilla run on tiny synthetic data."""
    tmp = tmp_path_factory.mktemp("eval")
    paths = {}
    for model in ("levasa", "vanilla"):
        overrides = [*TINY, "data.expressions_per_identity=12", "debug=limit", f"model={model}"]
        cfg = compose_config([*overrides, f"paths.output_dir={tmp / model}", f"paths.data_dir={tmp / 'data'}"])
        paths[model] = Path(train(cfg)["run"]["best_checkpoint"])
    return paths


def run_evaluate(tmp_path: Path, ckpt: Path, *overrides: str) -> dict:
    own, run = split_evaluate_overrides(list(overrides))
    cfg = compose_config([f"ckpt={ckpt}", f"paths.output_dir={tmp_path / 'eval'}", *EVAL_TINY, *own], "evaluate")
    return evaluate(cfg, overrides=run)


def test_levasa_report_has_every_section_and_figure(tmp_path, checkpoints):
    metrics = run_evaluate(tmp_path, checkpoints["levasa"])
    out = tmp_path / "eval"
    saved = json.loads((out / "metrics.json").read_text())
    assert tuple(saved) == SECTIONS or set(saved) == set(SECTIONS)
    for axis in ("valence", "arousal"):
        assert set(saved["alignment"][axis]) == {"mse", "mae", "pearson", "ccc", "sagr"}
    assert set(saved["va_regression"]["z_v"]["mlp"]["valence"]) == {"r2", "mse", "mae", "ccc"}
    for feature in ("z_v", "z_a", "z_z", "z_va", "z_all", "majority_baseline"):
        assert set(saved["emotion_probe"][feature]) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert 0.9 < saved["emotion_probe"]["oracle_accuracy"] <= 1.0
    assert set(saved["reconstruction"]) == {"mse", "psnr", "ssim"}
    assert "mig" in saved["disentanglement"] and saved["disentanglement"]["factors"][:2] == ["valence", "arousal"]
    assert saved["run"]["n_test"] == 24 and saved["run"]["sklearn"] and saved["run"]["seed"] == 0
    assert metrics["alignment"] == saved["alignment"]
    # the default variant's labels are the true VA (no label noise), so the two comparisons agree
    for axis in ("valence", "arousal"):
        assert saved["alignment_true_va"][axis] == pytest.approx(saved["alignment"][axis], rel=1e-5)
    generation = saved["generation"]
    assert set(generation) == {"judge", "reconstruction", "swap", "edit"}
    assert generation["judge"]["source"] == "true factors" and -1 <= generation["swap"]["ccc_donor"]["valence"] <= 1
    assert len(generation["edit"]["grid_valence"]) == 5 and generation["edit"]["faces"] == 24
    assert set(saved["structure"]["linear"]["z_z"]) >= {"valence", "arousal", "skin_tone"}
    assert "## Generation" in (out / "report.md").read_text() and "## Structure" in (out / "report.md").read_text()
    for figure in ("circumplex", "reconstructions", "traverse_z_v", "traverse_z_a", "tsne", "swap_grid", "edit_grid"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "Table 1" in report and "majority class" in report and "![circumplex](circumplex.png)" in report
    assert any((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "tensorboard" / "projector_config.pbtxt").is_file()


def test_a_section_is_added_and_removed_through_config_alone(tmp_path, checkpoints):
    toy = "+sections.toy={_target_: tests.toy_section.HeldOutSize, scale: 2.0}"
    metrics = run_evaluate(tmp_path, checkpoints["levasa"], toy, "sections.disentanglement=null")
    assert metrics["toy"]["n"] == 2.0 * metrics["run"]["n_test"] == 48.0
    assert "disentanglement" not in metrics
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "## Toy: held-out size" in report and "| n | mean_v0 |" in report and "48.0000" in report
    assert "Disentanglement" not in report and report.index("Table 3") < report.index("Toy")


def test_vanilla_alignment_says_there_is_no_readout(tmp_path, checkpoints):
    metrics = run_evaluate(tmp_path, checkpoints["vanilla"])
    assert "no VA readout" in metrics["alignment"]["note"]
    assert "no VA readout" in metrics["alignment_true_va"]["note"]
    assert "r2" in metrics["va_regression"]["z_v"]["linear"]["valence"]
    assert not (tmp_path / "eval" / "circumplex.png").exists()


def stored(ckpt: Path) -> dict:
    return stored_config(read_checkpoint(ckpt))


def test_command_line_overrides_win_over_the_stored_config(checkpoints):
    as_trained = run_config(stored(checkpoints["levasa"]))
    assert as_trained.data.batch_size == 16
    own, run = split_evaluate_overrides(["data.batch_size=4", "ckpt=x", "probes.max_train=3", "hydra.run.dir=y"])
    assert own == ["ckpt=x", "probes.max_train=3", "hydra.run.dir=y"] and run == ["data.batch_size=4"]
    changed = run_config(stored(checkpoints["levasa"]), run)
    assert changed.data.batch_size == 4 and changed.data.n_identities == as_trained.data.n_identities
    swapped = run_config(stored(checkpoints["levasa"]), ["data=synthetic"])
    assert swapped.data.n_identities == 240  # the group's own defaults replace the stored node
    assert swapped.data.image_size == as_trained.data.image_size == 32  # but the model's face size stays
    nested = run_config(stored(checkpoints["levasa"]), ["model/alignment=mse"])
    assert nested.model.alignment._target_.endswith("MSEAlignment")


def test_run_overrides_follow_hydra_grammar(checkpoints):
    cfg = run_config(stored(checkpoints["levasa"]), ["+data.extra=[1,2]", "~data.label_noise", "data.seed=7"])
    assert list(cfg.data.extra) == [1, 2] and "label_noise" not in cfg.data and cfg.data.seed == 7
    with pytest.raises(ValueError, match=r"has no key 'data\.batch_sise'"):
        run_config(stored(checkpoints["levasa"]), ["data.batch_sise=4"])
    with pytest.raises(ValueError, match="already has it"):
        run_config(stored(checkpoints["levasa"]), ["+data.batch_size=4"])


def test_cross_dataset_evaluation_on_a_real_layout_keeps_the_trained_image_size(tmp_path, checkpoints):
    root = make_imfdb(tmp_path / "imfdb")
    data = ["data=imfdb", f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}"]
    composed = run_config(stored(checkpoints["levasa"]), data)
    assert (
        composed.data.reader._target_ == "levasa.data.readers.imfdb.read_imfdb"
        and composed.data.image_size == 32
        and composed.data.root == str(root)
    )
    metrics = run_evaluate(tmp_path, checkpoints["levasa"], *data)
    assert metrics["run"]["n_test"] > 0 and "no ground-truth factors" in metrics["disentanglement"]["note"]
    assert -1.0 <= metrics["alignment"]["valence"]["ccc"] <= 1.0


def test_bad_split_and_missing_checkpoint_are_clear_errors(tmp_path, checkpoints):
    with pytest.raises(ValueError, match="split must be a held-out split"):
        run_evaluate(tmp_path, checkpoints["levasa"], "split=train")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        run_evaluate(tmp_path, tmp_path / "nope.ckpt")


@pytest.mark.slow
def test_evaluate_script_prints_the_report_path(tmp_path, checkpoints):
    out = tmp_path / "script"
    args = [f"ckpt={checkpoints['levasa']}", f"hydra.run.dir={out}", *EVAL_TINY, "split=val", "data.batch_size=8"]
    result = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == f"Report: {out / 'report.md'}"
    run = json.loads((out / "metrics.json").read_text())["run"]
    assert run["split"] == "val" and run["run_overrides"] == ["data.batch_size=8"]


def train_tiny(out: Path, data: Path, *overrides: str) -> Path:
    """Best checkpoint of a two-epoch run on tiny data with ``overrides``."""
    base = [*TINY, "data.expressions_per_identity=12", "debug=limit", f"paths.data_dir={data}"]
    return Path(train(compose_config([*base, f"paths.output_dir={out}", *overrides]))["run"]["best_checkpoint"])


def test_a_run_trained_with_overrides_evaluates_without_repeating_them(tmp_path):
    ckpt = train_tiny(tmp_path / "run", tmp_path / "data", "model.encoder.chunks.v=6", "model.encoder.chunks.z=10")
    assert load_module(ckpt).encoder.chunks == {"v": 6, "a": 2, "z": 10}
    metrics = run_evaluate(tmp_path, ckpt)
    assert metrics["disentanglement"]["mig"] >= 0 and "ccc" in metrics["alignment"]["valence"]


def test_sweep_gives_a_table_and_a_tradeoff_plot(tmp_path):
    sweep = tmp_path / "multirun"
    for job, alpha in (("0", 0), ("1", 100)):
        train_tiny(sweep / job, tmp_path / "data", f"alpha={alpha}")
    out = tmp_path / "sweep_eval"
    cfg = compose_config([f"sweep={sweep}", f"paths.output_dir={out}", *EVAL_TINY], "evaluate")
    rows = evaluate_sweep(cfg)
    assert [row["alpha"] for row in rows] == [0.0, 100.0]
    with (out / "sweep.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [float(r["alpha"]) for r in table] == [0.0, 100.0]
    assert {"ccc_v", "ccc_a", "psnr", "emotion_acc_z_va", "beta", "alignment"} <= set(table[0])
    assert (out / "tradeoff.png").stat().st_size > 1000
    assert (out / "1" / "report.md").is_file()


def test_missing_ckpt_and_a_directory_without_jobs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="give ckpt=PATH"):
        evaluate(compose_config([f"paths.output_dir={tmp_path}"], "evaluate"))
    (tmp_path / "empty").mkdir()
    cfg = compose_config([f"sweep={tmp_path / 'empty'}", f"paths.output_dir={tmp_path}"], "evaluate")
    with pytest.raises(ValueError, match="no numbered job directories"):
        evaluate_sweep(cfg)


def test_an_evaluation_failing_part_way_leaves_the_previous_one_whole(tmp_path, checkpoints, monkeypatch):
    """Issue 16, point 10: figures used to be written into the folder before metrics.json, so a second evaluation
    stopped part-way left its figures beside the first one's metrics.json. Now everything is staged and moved in
    together, metrics.json last."""
    import levasa.evaluation.outputs as outputs

    first = run_evaluate(tmp_path, checkpoints["levasa"])
    out = tmp_path / "eval"
    (out / "evaluate.log").write_text("a log Hydra keeps in the folder\n")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def fail(*args, **kwargs):
        raise RuntimeError("stopped while writing the report")

    monkeypatch.setattr(outputs, "render_report", fail)
    with pytest.raises(RuntimeError, match="stopped while writing"):
        run_evaluate(tmp_path, checkpoints["vanilla"])
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # not one new figure beside the old metrics.json, and no staging folder left
    assert json.loads((out / "metrics.json").read_text())["run"]["checkpoint"] == str(checkpoints["levasa"])

    monkeypatch.undo()
    second = run_evaluate(tmp_path, checkpoints["vanilla"])  # a complete evaluation replaces the first one's outputs
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(second))
    assert (out / "evaluate.log").read_text() == "a log Hydra keeps in the folder\n"  # not an output: kept
    assert not list(out.glob(".staging.*"))
    assert (out / "swap_grid.png").read_bytes() != before[Path("swap_grid.png")]
    assert first["run"]["checkpoint_sha256"] == hashlib.sha256(checkpoints["levasa"].read_bytes()).hexdigest()
    assert first["run"]["checkpoint_step"] == read_checkpoint(checkpoints["levasa"])["global_step"] > 0
