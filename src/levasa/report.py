"""report.md: the evaluation's sections as tables in the shape of the LeVAsa paper's Tables 1-3."""

from __future__ import annotations

from typing import Any


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(f"{c:.4f}" if isinstance(c, float) else str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _note_or(section: dict[str, Any], lines: list[str]) -> list[str]:
    return [f"_{section['note']}_"] if "note" in section else lines


NONE = {"note": "not computed"}


def alignment_lines(section: dict[str, Any]) -> list[str]:
    """Table 1: readout vs annotation per axis, and the paper's combined MSE (sum over axes)."""
    if "note" in section:
        return _note_or(section, [])
    names = ["mse", "mae", "pearson", "ccc", "sagr"]
    rows = [[axis, *(section[axis][n] for n in names)] for axis in ("valence", "arousal")]
    combined = section["valence"]["mse"] + section["arousal"]["mse"]
    return [*_table(["axis", *names], rows), "", f"Combined MSE (valence + arousal): {combined:.4f}"]


def va_regression_lines(section: dict[str, Any]) -> list[str]:
    """Table 2: probes from each chunk to valence and arousal (test split)."""
    if "note" in section:
        return _note_or(section, [])
    rows = [
        [chunk, kind, section[chunk][kind]["valence"]["r2"], section[chunk][kind]["arousal"]["r2"],
         section[chunk][kind]["valence"]["ccc"], section[chunk][kind]["arousal"]["ccc"]]
        for chunk in ("z_v", "z_a", "z_z")
        for kind in section[chunk]
    ]  # fmt: skip
    return _table(["chunk", "probe", "R2 valence", "R2 arousal", "CCC valence", "CCC arousal"], rows)


def emotion_lines(section: dict[str, Any]) -> list[str]:
    """Table 3: emotion classification from each feature set, against the majority and oracle baselines."""
    if "note" in section:
        return _note_or(section, [])
    names = ["accuracy", "balanced_accuracy", "macro_f1"]
    rows = [[f"{feature} ({section['probe']})", *(section[feature][n] for n in names)]
            for feature in ("z_v", "z_a", "z_z", "z_va", "z_all")]  # fmt: skip
    rows.append(["majority class", *(section["majority_baseline"][n] for n in names)])
    lines = _table(["features", *names], rows)
    if "oracle_accuracy" in section:
        lines += ["", f"Oracle accuracy (Bayes rule from the true VA): {section['oracle_accuracy']:.4f}"]
    return lines


def flat_lines(section: dict[str, Any]) -> list[str]:
    """A one-row table of a section's numeric entries."""
    if "note" in section:
        return _note_or(section, [])
    numbers = {k: v for k, v in section.items() if isinstance(v, float)}
    return _table(list(numbers), [list(numbers.values())])


def render_report(metrics: dict[str, Any], figures: dict[str, str], title: str) -> str:
    """The whole report as markdown; ``figures`` maps captions to relative PNG paths."""
    parts = [
        f"# {title}",
        "",
        f"Split: {metrics['run']['split']} ({metrics['run']['n_test']} faces, subjects disjoint from training); "
        f"probes fitted on {metrics['run']['n_train']} training faces; seed {metrics['run']['seed']}.",
    ]
    sections = [
        ("Table 1: latent-circumplex alignment (readout vs annotation)", alignment_lines(metrics["alignment"])),
        ("Table 2: VA regression from each chunk", va_regression_lines(metrics["va_regression"])),
        (
            "Readout vs the true VA (synthetic data only)",
            alignment_lines(metrics.get("alignment_true_va", {"note": "not computed"})),
        ),
        ("Table 3: emotion prediction from the latents", emotion_lines(metrics["emotion_probe"])),
        ("Reconstruction", flat_lines(metrics["reconstruction"])),
        ("Disentanglement (all codes vs the true factors)", flat_lines(metrics["disentanglement"])),
    ]
    for heading, lines in sections:
        parts += ["", f"## {heading}", "", *lines]
    parts += ["", "## Figures", ""]
    parts += [f"![{caption}]({path})" for caption, path in figures.items()]
    return "\n".join(parts) + "\n"
