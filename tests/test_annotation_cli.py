"""``transfer(cfg)`` on the composed ``conf/transfer.yaml``, one run of ``python transfer.py``, and the evaluation."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from levasa.annotation.cli import transfer
from levasa.annotation.labels import AnnotationError
from levasa.annotation.sampling import sample_expressions
from levasa.annotation.strategies import CAT_TO_VA, VA_TO_CAT
from levasa.io import remove_stale_temporaries, write_atomic, write_json_atomic, write_text_atomic
from tests.helpers import ROOT, compose_config, umask


def run(*overrides: str) -> dict:
    return transfer(compose_config(list(overrides), config_name="transfer"))


def test_labels_to_discretized_va_with_figure_and_summary(tmp_path, capsys):
    labels = {f"k{i}": name for i, name in enumerate(["HAPPINESS", "sad", "Fear", 4, "angry"] * 40)}
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    out = tmp_path / "out" / "va.json"
    result = run(f"input={tmp_path / 'labels.json'}", f"output={out}", "discretize=true", "seed=3")
    va = json.loads(out.read_text())
    assert list(va) == list(labels) and np.abs(np.array(list(va.values()))).max() <= 10
    assert all(isinstance(x, int) for pair in va.values() for x in pair)
    assert (tmp_path / "out" / "va.png").stat().st_size > 10_000
    assert result["classes"]["Fear"]["count"] == 80 and result["strategy"] == "ellipse"
    assert "Fear" in capsys.readouterr().out


def test_integer_va_csv_is_divided_by_the_input_scale_before_nearest(tmp_path):
    (tmp_path / "afew.csv").write_text("key,valence,arousal\nf1,7,0\nf2,1,0\nf3,-6,-3\n")
    run(f"input={tmp_path / 'afew.csv'}", f"output={tmp_path / 'labels.csv'}", "input_scale=10")
    assert (tmp_path / "labels.csv").read_text() == "key,label\nf1,Happy\nf2,Neutral\nf3,Sad\n"


def test_bad_inputs_leave_no_output_behind(tmp_path):
    (tmp_path / "va.json").write_text(json.dumps({"a": [7, 0]}))
    (tmp_path / "labels.json").write_text(json.dumps({"a": "Happy", "b": "Bored"}))
    out = tmp_path / "out" / "o.json"
    with pytest.raises(AnnotationError, match=r"va\.json: key 'a' has VA \[7\.0, 0\.0\] outside"):
        run(f"input={tmp_path / 'va.json'}", f"output={out}")
    with pytest.raises(AnnotationError, match=r"labels\.json: key 'b' has unknown label 'Bored'"):
        run(f"input={tmp_path / 'labels.json'}", f"output={out}")
    with pytest.raises(AnnotationError, match="strategy 'nearest' does not apply to labels"):
        run(f"input={tmp_path / 'labels.json'}", f"output={out}", "strategy=nearest")
    with pytest.raises(AnnotationError, match="anchor 'plutchik' is neither a built-in"):
        run(f"input={tmp_path / 'labels.json'}", f"output={out}", "anchor=plutchik")
    assert not out.parent.exists()
    assert run(f"input={tmp_path / 'labels.json'}", f"output={out}", "skip_unknown=true")["n"] == 1


KILLED_WHILE_WRITING = """
import csv, os, runpy, signal, sys

real_writer = csv.writer


class HalfThenKilled:  # writes half of the rows, flushes them to the file, and SIGKILLs its own process
    def __init__(self, f, **kwargs):
        self.f, self.writer = f, real_writer(f, **kwargs)

    def writerows(self, rows):
        rows = list(rows)
        self.writer.writerows(rows[: len(rows) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)


csv.writer = HalfThenKilled
sys.argv = ["transfer.py", *sys.argv[1:]]
runpy.run_path("transfer.py", run_name="__main__")
"""


def test_python_transfer_killed_while_writing_leaves_the_previous_annotations(tmp_path):
    """SIGKILL half-way through writing the output of ``python transfer.py``: the previous file stays whole."""
    labels = {f"k{i}": name for i, name in enumerate(["Happy", "Sad", "Fear", "Anger"] * 500)}
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    out = tmp_path / "va.csv"
    run(f"input={tmp_path / 'labels.json'}", f"output={out}", "seed=1")
    before = out.read_bytes()
    assert before.count(b"\n") == 2001
    result = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, f"input={tmp_path / 'labels.json'}", f"output={out}", "seed=2"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    assert out.read_bytes() == before  # the old annotations, whole
    (half,) = tmp_path.glob(".va.csv.*.tmp")  # the new ones had been half written when the process died
    assert 900 < half.read_bytes().count(b"\n") < 1100
    assert remove_stale_temporaries(tmp_path) == [half]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.json", "va.csv", "va.png"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_an_interrupted_report_write_keeps_the_old_report_and_leaves_nothing(tmp_path, interrupt):
    """The writer behind metrics.json, report.md, sweep.csv and the annotation files (``levasa.io.write_atomic``),
    failing half-way through a write: Ctrl-C, or a full disk."""
    report = tmp_path / "report.md"
    write_text_atomic(report, "old report\n")
    write_json_atomic(tmp_path / "metrics.json", {"old": 1})

    def half_then_fail(f):
        f.write("new " * 1000)
        f.flush()
        raise interrupt

    with pytest.raises(type(interrupt)):
        write_atomic(report, half_then_fail)
    assert report.read_text() == "old report\n"
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"old": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "report.md"]
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask()  # a normal file's mode, not mkstemp's private 0600


def test_evaluate_scores_every_strategy(tmp_path):
    small = ["evaluate.n_identities=30", "evaluate.expressions_per_identity=20"]
    result = run("mode=evaluate", f"output={tmp_path / 'quality.md'}", *small)
    table = (tmp_path / "quality.md").read_text()
    for strategy in CAT_TO_VA:
        assert f"| cat->VA | {strategy} |" in table
    for strategy in VA_TO_CAT:
        assert f"| VA->cat | {strategy} |" in table
    scores = {(s.direction, s.strategy): s for s in result["scores"]}
    assert scores["VA->cat", "nearest"].accuracy > 0.9 and scores["cat->VA", "centroid"].ccc_v > 0.9


def test_transfer_py_runs_from_another_directory_with_relative_paths(tmp_path):
    (tmp_path / "labels.csv").write_text("key,label\na,Happy\nb,SURPRISE\n")
    cmd = [sys.executable, str(ROOT / "transfer.py"), "input=labels.csv", "output=va.csv", "anchor=russell"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "va.csv").read_text().splitlines()
    assert rows[0] == "key,valence,arousal" and [r.split(",")[0] for r in rows[1:]] == ["a", "b"]
    assert (tmp_path / "va.png").exists() and "Surprise" in proc.stdout


def test_evaluate_reads_an_affectnet_style_csv_and_drops_non_emotion_rows(tmp_path, caplog):
    va, _, emotion = sample_expressions(600, np.random.default_rng(0))
    rows = [f"img{i}.jpg,1;2;3,{e},{v:.4f},{a:.4f}" for i, (e, (v, a)) in enumerate(zip(emotion, va, strict=True))]
    rows += ["none.jpg,1;2,8,0.1,0.2", "missing.jpg,1;2,1,-2,-2"]
    (tmp_path / "training.csv").write_text("subDirectory_filePath,facial_landmarks,expression,valence,arousal\n")
    with (tmp_path / "training.csv").open("a") as f:
        f.write("\n".join(rows) + "\n")
    result = run("mode=evaluate", f"input={tmp_path / 'training.csv'}", f"output={tmp_path / 'q.md'}")
    assert result["n"] == 600 and "| VA->cat | likelihood |" in (tmp_path / "q.md").read_text()
    assert "skipped 1 of 602 rows" in caplog.text and "dropped 1 rows" in caplog.text
    (tmp_path / "bad.csv").write_text("key,valence,arousal\na,0.1,0.2\n")
    with pytest.raises(AnnotationError, match=r"bad\.csv: header needs valence, arousal and expression"):
        run("mode=evaluate", f"input={tmp_path / 'bad.csv'}", f"output={tmp_path / 'q2.md'}")
    assert not (tmp_path / "q2.md").exists()


def test_an_anchor_file_is_used_and_a_class_it_lacks_is_an_error(tmp_path):
    row = {"valence_std": 0.1, "arousal_std": 0.1, "count": 1}
    table = {
        "classes": {
            "Happy": {**row, "valence_mean": 0.5, "arousal_mean": 0.5},
            "Sad": {**row, "valence_mean": -0.5, "arousal_mean": -0.5},
        }
    }
    (tmp_path / "anchor.json").write_text(json.dumps(table))
    (tmp_path / "va.json").write_text(json.dumps({"a": [0.4, 0.3], "b": [-0.1, -0.2]}))
    (tmp_path / "labels.json").write_text(json.dumps({"a": "happy", "b": "FEAR"}))
    anchor = f"anchor={tmp_path / 'anchor.json'}"
    run(f"input={tmp_path / 'va.json'}", f"output={tmp_path / 'out.json'}", anchor)
    assert json.loads((tmp_path / "out.json").read_text()) == {"a": "Happy", "b": "Sad"}
    with pytest.raises(AnnotationError, match=r"no ellipse for \['Fear'\]"):
        run(f"input={tmp_path / 'labels.json'}", f"output={tmp_path / 'out2.json'}", anchor)
    (tmp_path / "anchor.json").write_text("{")
    with pytest.raises(AnnotationError, match=r"anchor\.json: not valid JSON"):
        run(f"input={tmp_path / 'va.json'}", f"output={tmp_path / 'out2.json'}", anchor)
    assert not (tmp_path / "out2.json").exists()
