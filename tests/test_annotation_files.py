"""Annotation files: the accepted shapes, the input scale, and a clear error for every bad input."""

import json

import numpy as np
import pytest

from levasa.annotation.files import read_annotations, write_annotations
from levasa.annotation.labels import AnnotationError


def test_json_and_csv_labels_and_va_are_read_in_file_order(tmp_path):
    (tmp_path / "l.json").write_text(json.dumps({"b": "HAPPINESS", "a": 3}))
    (tmp_path / "l.csv").write_text("key,label\nb,HAPPINESS\na,3\n")
    (tmp_path / "v.json").write_text(json.dumps({"b": [0.5, -0.25], "a": [1, 0]}))
    (tmp_path / "v.csv").write_text("b,0.5,-0.25\na,1,0\n")
    for name in ("l.json", "l.csv"):
        ann = read_annotations(tmp_path / name)
        assert ann.keys.tolist() == ["b", "a"] and ann.labels.tolist() == ["HAPPINESS", "3"] and ann.va is None
    for name in ("v.json", "v.csv"):
        ann = read_annotations(tmp_path / name)
        assert ann.keys.tolist() == ["b", "a"] and ann.va.tolist() == [[0.5, -0.25], [1, 0]] and ann.labels is None


def test_input_scale_divides_integer_va(tmp_path):
    path = tmp_path / "afew.json"
    path.write_text(json.dumps({"f1": [7, -10], "f2": [0, 3]}))
    assert read_annotations(path, input_scale=10).va.tolist() == [[0.7, -1.0], [0.0, 0.3]]
    with pytest.raises(AnnotationError, match=r"afew\.json: key 'f1' has VA \[7\.0, -10\.0\] outside"):
        read_annotations(path)
    with pytest.raises(AnnotationError, match="input_scale must be positive, found 0"):
        read_annotations(path, input_scale=0)


BAD = {
    "outside.json": (
        '{"a": [0.5, 0.1], "b": [7, 2]}',
        r"outside\.json: key 'b' has VA \[7\.0, 2\.0\] outside the declared",
    ),
    "nan.json": ('{"a": [NaN, 0.1]}', r"nan\.json: key 'a' has a non-finite VA"),
    "nan.csv": ("a,nan,0.1\n", r"nan\.csv: key 'a' has a non-finite VA"),
    "empty.json": ("{}", r"empty\.json: no annotations"),
    "empty.csv": ("key,label\n", r"empty\.csv: no annotations"),
    "dup.json": ('{"a": "Happy", "b": "Sad", "a": "Fear"}', r"dup\.json: duplicate key 'a'"),
    "dup.csv": ("a,Happy\na,Sad\n", r"dup\.csv: duplicate key 'a'"),
    "broken.json": ('{"a": "Happy",\n "b": ', r"broken\.json: not valid JSON \(line 2"),
    "list.json": ('[["a", "Happy"]]', r"list\.json: expected a JSON object"),
    "mixed.json": ('{"a": "Happy", "b": [0.1, 0.2]}', r"mixed\.json: values must be all labels or all"),
    "triple.json": ('{"a": [0.1, 0.2, 0.3]}', r"triple\.json: values must be all labels or all"),
    "ragged.csv": ("a,Happy\nb,0.1,0.2\n", r"ragged\.csv: expected rows 'key,label' or 'key,valence,arousal'"),
    "text.csv": ("a,0.1,high\n", r"text\.csv: values must be all labels or all"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_clear_error_naming_the_file(tmp_path, name):
    text, message = BAD[name]
    (tmp_path / name).write_text(text)
    with pytest.raises(AnnotationError, match=message):
        read_annotations(tmp_path / name)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(AnnotationError, match=r"nope\.json: no such file"):
        read_annotations(tmp_path / "nope.json")


def test_written_files_read_back_and_a_failed_write_leaves_nothing(tmp_path):
    keys = np.array(["a", "b"])
    write_annotations(tmp_path / "o.csv", keys, np.array([[1, -2], [0, 10]]))
    write_annotations(tmp_path / "o.json", keys, np.array(["Happy", "Sad"]))
    assert read_annotations(tmp_path / "o.csv", input_scale=10).va.tolist() == [[0.1, -0.2], [0.0, 1.0]]
    assert json.loads((tmp_path / "o.json").read_text()) == {"a": "Happy", "b": "Sad"}
    with pytest.raises(TypeError):
        write_annotations(tmp_path / "bad.json", keys, np.array([object(), object()]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "o.json"]
