"""report.md: the evaluation's sections as tables in the shape of the LeVAsa paper's Tables 1-3, then the figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from levasa.evaluation.sections.base import Section


def render_report(
    metrics: Mapping[str, Any], sections: Mapping[str, Section], figures: Mapping[str, str], title: str
) -> str:
    """The whole report as markdown: one part per section (its note when it has one), in ``sections`` order;
    ``figures`` maps captions to relative PNG paths."""
    run = metrics["run"]
    parts = [
        f"# {title}",
        "",
        f"Split: {run['split']} ({run['n_test']} faces, subjects disjoint from training); "
        f"probes fitted on {run['n_train']} training faces; seed {run['seed']}.",
    ]
    for name, section in sections.items():
        values = metrics[name]
        lines = [f"_{values['note']}_"] if "note" in values else section.render(values)
        parts += ["", f"## {section.title}", "", *lines]
    parts += ["", "## Figures", ""]
    parts += [f"![{caption}]({path})" for caption, path in figures.items()]
    return "\n".join(parts) + "\n"
