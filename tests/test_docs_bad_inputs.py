"""docs/BAD_INPUTS.md names, in every table row, the test that checks its bad input: each named test must exist.

The test files are parsed with :mod:`ast`, not imported, so this stays fast and imports nothing heavy.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "BAD_INPUTS.md"
REFERENCE = re.compile(r"tests/(?P<file>[\w/]+\.py)::(?P<name>\w+)")
MIN_ROWS = 40


def table_rows(text: str) -> list[str]:
    """The body rows of the page's markdown tables (not their header and separator lines)."""
    rows: list[str] = []
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        rows += table[2:]  # a table: its header, the --- line, then its rows
        table = []
    return rows


@cache
def defined_tests(file: str) -> frozenset[str]:
    """The names of the ``test_*`` functions defined at the top level of ``tests/<file>``."""
    tree = ast.parse((ROOT / "tests" / file).read_text(), filename=file)
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def broken_references(text: str) -> list[str]:
    """Every ``tests/<file>.py::<name>`` in ``text`` whose file is missing or defines no test of that name."""
    broken = []
    for found in REFERENCE.finditer(text):
        file, name = found["file"], found["name"]
        if not (ROOT / "tests" / file).is_file():
            broken.append(f"{found[0]}: no such file")
        elif name not in defined_tests(file):
            broken.append(f"{found[0]}: tests/{file} defines no test function {name}")
    return broken


def test_every_test_the_page_names_exists():
    text = PAGE.read_text()
    assert REFERENCE.search(text), "the page names no test"
    assert broken_references(text) == []


def test_every_row_names_a_test_and_the_page_has_enough_rows():
    rows = table_rows(PAGE.read_text())
    assert len(rows) >= MIN_ROWS, f"{len(rows)} rows"
    assert [row for row in rows if not REFERENCE.search(row)] == []


def test_a_wrong_reference_is_caught():
    """The check itself: a misspelt test name, a missing file and a helper that is not a test are reported."""
    text = (
        "| a | b | `tests/test_cache.py::test_a_damaged_cache_is_rebuilt` |\n"
        "| a | b | `tests/test_cache.py::test_a_damaged_cache_is_rebuit` |\n"
        "| a | b | `tests/test_nowhere.py::test_x` |\n"
        "| a | b | `tests/test_cache.py::write_images` |\n"
    )
    assert [line.split(":")[0] for line in broken_references(text)] == [
        "tests/test_cache.py",
        "tests/test_nowhere.py",
        "tests/test_cache.py",
    ]
