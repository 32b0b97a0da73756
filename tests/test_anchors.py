"""The built-in anchor table and the anchor-file reader."""

import json

import numpy as np
import pytest

from levasa.annotation.anchors import affectnet_anchor, load_anchor_file


def test_builtin_affectnet_anchor_has_the_seven_classes_in_canonical_order():
    anchor = affectnet_anchor()
    assert anchor.classes == ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger")
    assert anchor.indices.tolist() == list(range(7))
    assert anchor.mean[1] == pytest.approx([0.664328, 0.070280])
    assert anchor.std[4] == pytest.approx([0.071007, 0.136925])
    assert anchor.prior.sum() == pytest.approx(1.0) and np.argmax(anchor.prior) == 1  # Happy is commonest
    assert "arXiv 2007.10058" in anchor.provenance


def test_anchor_file_errors_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"classes": {"Joy": {"valence_mean": 0.5}}}))
    with pytest.raises(ValueError, match=r"bad.json: unknown class names \['Joy'\]"):
        load_anchor_file(bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"classes": {"Happy": {"valence_mean": 0.5}}}))
    with pytest.raises(ValueError, match=r"partial\.json: anchor table lacks key 'arousal_mean'"):
        load_anchor_file(partial)


def test_anchor_file_that_is_not_json_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"classes": {\n  "Happy": [1, 2,\n')
    with pytest.raises(ValueError, match=r"broken.json: not valid JSON \(line 3"):
        load_anchor_file(broken)
