"""Label names: canonical names in any case, dataset synonyms, AffectNet codes, unknown labels."""

import logging
import subprocess
import sys

import numpy as np
import pytest

from levasa.annotation.labels import AnnotationError, factorize, label_indices
from levasa.vocabulary import EMOTIONS


def test_names_synonyms_and_codes_map_to_canonical_indices():
    labels = ["HAPPINESS", "happy", " Joy ", "SADNESS", "angry", "ANGER", "surprised", "afraid", "disgusted", 0, "7"]
    codes, keep = label_indices(labels, [f"k{i}" for i in range(len(labels))])
    names = [EMOTIONS[c] for c in codes]
    assert names == [
        "Happy",
        "Happy",
        "Happy",
        "Sad",
        "Anger",
        "Anger",
        "Surprise",
        "Fear",
        "Disgust",
        "Neutral",
        "Contempt",
    ]
    assert keep.all()


def test_every_canonical_name_maps_to_itself_in_any_case():
    codes, _ = label_indices([n.upper() for n in EMOTIONS], list(EMOTIONS))
    assert codes.tolist() == list(range(len(EMOTIONS)))


def test_unknown_label_names_the_source_key_and_label():
    with pytest.raises(AnnotationError, match=r"labels\.json: key 'b' has unknown label 'Bored'"):
        label_indices(["Happy", "Bored", "8"], ["a", "b", "c"], source="labels.json")
    assert issubclass(AnnotationError, ValueError)


def test_skip_drops_unknown_labels_and_logs_their_count(caplog):
    with caplog.at_level(logging.WARNING):
        codes, keep = label_indices(["Happy", "Bored", "8", "sad"], ["a", "b", "c", "d"], source="x.csv", skip=True)
    assert codes.tolist() == [1, 2] and keep.tolist() == [True, False, False, True]
    assert "x.csv: skipped 2 of 4 rows" in caplog.text and np.all(codes >= 0)


def test_factorize_round_trips_strings_of_any_length_and_script():
    names = np.array(["a", "bb", "", "Happy", "happy", "é", "e", "😀", "x" * 33, "bb", "a", "😀"])
    uniq, inverse = factorize(names)
    assert (uniq[inverse] == names).all() and len(set(uniq.tolist())) == uniq.size == 9


def test_the_annotation_package_does_not_import_torch():
    code = "import sys, levasa.annotation.cli, levasa.annotation.quality; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0
