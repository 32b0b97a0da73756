"""Markdown tables, the one shape every levasa report uses (evaluation reports, RESULTS.md, transfer quality).

Imports nothing of levasa, so that every layer, annotation transfer included, can render with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def cell(value: Any, digits: int = 4) -> str:
    """One table cell: a float with ``digits`` decimals, anything else as ``str``."""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]], digits: int = 4) -> list[str]:
    """The lines of a markdown table: the header, the rule and one line per row (floats with ``digits``
    decimals)."""

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(cell(c, digits) for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]
