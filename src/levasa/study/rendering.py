"""docs/RESULTS.md: the settings, Tables 1-3 in the paper's shape (mean ± std over seeds), reconstruction, the
sweep, a verdict with its evidence for each claim and every run behind them. The tables are declared as columns
here, the prose is the template ``results.md.j2``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

import torch
from jinja2 import Environment, StrictUndefined, Template
from omegaconf import DictConfig

from levasa.machine import cpu_model
from levasa.markdown import cell, table
from levasa.study.runs import ACCURACY_VA, MAJORITY, ORACLE, PSNR, Metric, Run, mean_ccc, select, stats, sweep_alphas
from levasa.study.verdicts import verdicts

PAPER = {
    "table1": "combined MSE between chunk and label: Vanilla 3.319, LeVAsa 0.208 (V 0.144, A 0.064)",
    "table2": "VA regression R^2 from a chunk (MLP): Vanilla about 0, LeVAsa 0.047 (V) and 0.080 (A)",
    "table3": "7-class accuracy from chunks (MLP, 601 test images): Vanilla 0.29-0.33, LeVAsa 0.33-0.38 "
    "(best [z_v, z_a] 0.379); majority class 0.3165",
    "recon": "per-pixel MSE about 0.022-0.026 (Vanilla, 64x64), worse as the alignment weight grows",
}
"""The paper's own numbers (IMFDB with VA transferred from AffectNet), shown beside ours for reference."""

FEATURES = ("z_v", "z_a", "z_va", "z_z", "z_all")
"""The latent chunks the emotion probe reads, Table 3's columns."""


@dataclass(frozen=True)
class Column:
    """A column of a summary table: its header, what it reads from each run, and the decimals shown."""

    header: str
    metric: Metric
    digits: int = 3


TABLE1 = (
    Column("readout CCC V", ("alignment", "valence", "ccc")),
    Column("readout CCC A", ("alignment", "arousal", "ccc")),
    Column("readout MSE V", ("alignment", "valence", "mse")),
    Column("readout MSE A", ("alignment", "arousal", "mse")),
    Column("CCC V vs true VA", ("alignment_true_va", "valence", "ccc")),
    Column("CCC A vs true VA", ("alignment_true_va", "arousal", "ccc")),
    Column("linear R² z_v→V", ("va_regression", "z_v", "linear", "valence", "r2")),
    Column("linear R² z_a→A", ("va_regression", "z_a", "linear", "arousal", "r2")),
)
TABLE2 = (
    Column("z_v → V", ("va_regression", "z_v", "mlp", "valence", "r2")),
    Column("z_a → A", ("va_regression", "z_a", "mlp", "arousal", "r2")),
    Column("z_z → V", ("va_regression", "z_z", "mlp", "valence", "r2")),
    Column("z_z → A", ("va_regression", "z_z", "mlp", "arousal", "r2")),
)
TABLE3 = tuple(Column(f, ("emotion_probe", f, "accuracy")) for f in FEATURES)
RECONSTRUCTION = (
    Column("PSNR (dB)", PSNR, 2),
    Column("per-pixel MSE", ("reconstruction", "mse"), 4),
    Column("SSIM", ("reconstruction", "ssim")),
)
SWEEP = (
    Column("readout CCC (mean of V, A)", mean_ccc),
    Column("PSNR (dB)", PSNR, 2),
    Column("accuracy [z_v, z_a]", ACCURACY_VA),
    Column("MLP R² z_v → V", ("va_regression", "z_v", "mlp", "valence", "r2")),
)
RUNS_HEADER = ("run directory", "analogue", "model", "alpha", "seed", "readout CCC V / A", "accuracy [z_v, z_a]",
               "PSNR (dB)", "this invocation")  # fmt: skip


def render_results(cfg: DictConfig, runs: list[Run], minutes: float, figure: Path) -> str:
    """The text of docs/RESULTS.md for the study ``cfg`` and its ``runs``, which took ``minutes``; ``figure`` is
    the sweep's trade-off figure, relative to RESULTS.md."""
    alpha = float(cfg.alpha)
    analogues, claims = [], []
    for analogue in cfg.analogues:
        by_model = {m: select(runs, analogue, m, alpha) for m in cfg.models}
        analogues.append({"name": analogue, **_analogue_tables(by_model)})
        claims += verdicts(cfg, runs, analogue, by_model)
    sweep = {f"{a:g}": select(runs, cfg.sweep.analogue, cfg.sweep.model, a) for a in sweep_alphas(cfg, runs)}
    return _template().render(
        fast=bool(cfg.fast),
        date=date.today().isoformat(),
        runs=len(runs),
        trained=sum(r.trained for r in runs),
        read_back=sum(not r.trained for r in runs),
        minutes=minutes,
        machine=_machine(),
        seeds=sorted({r.seed for r in runs}),
        train_overrides=" ".join(cfg.train_overrides),
        epochs=cfg.fast_epochs if cfg.fast else cfg.epochs,
        alpha=alpha,
        output_dir=cfg.output_dir,
        models={name: " ".join(overrides) for name, overrides in cfg.models.items()},
        paper=PAPER,
        analogues=analogues,
        sweep={"analogue": cfg.sweep.analogue, "model": cfg.sweep.model},
        sweep_table=_summary("alpha", sweep, SWEEP),
        figure=figure.as_posix(),
        verdicts=claims,
        runs_table=_markdown(RUNS_HEADER, [_run_row(r) for r in runs]),
    )


def _analogue_tables(by_model: dict[str, list[Run]]) -> dict[str, str]:
    """Tables 1-3 and reconstruction of one analogue; Table 3 ends with the majority-class and oracle baselines
    over all its runs."""
    everyone = [r for rs in by_model.values() for r in rs]
    baselines = [
        [name, *[_spread(everyone, metric)] * len(FEATURES)]
        for name, metric in (("majority class", MAJORITY), ("oracle (true VA, Bayes rule)", ORACLE))
    ]
    return {
        "table1": _summary("model", by_model, TABLE1),
        "table2": _summary("model", by_model, TABLE2),
        "table3": _summary("model", by_model, TABLE3, baselines),
        "reconstruction": _summary("model", by_model, RECONSTRUCTION),
    }


def _summary(
    label: str, groups: dict[str, list[Run]], columns: tuple[Column, ...], extra: Sequence[list[str]] = ()
) -> str:
    """A table with a row per group of runs (named in the ``label`` column), a cell per column, then ``extra``
    rows."""
    rows = [[name, *(_spread(rs, c.metric, c.digits) for c in columns)] for name, rs in groups.items()]
    return _markdown([label, *(c.header for c in columns)], [*rows, *extra])


def _spread(runs: list[Run], metric: Metric, digits: int = 3) -> str:
    """``mean ± std`` over the runs that have ``metric``, the mean alone for one, ``n/a`` for none."""
    mean, std, n = stats(runs, metric)
    if n == 0:
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def _run_row(run: Run) -> list[str]:
    """A run's line of the Runs appendix: where it is and its headline figures, so that each number traces back."""
    ccc = f"{cell(run.value('alignment', 'valence', 'ccc'), 3)} / {cell(run.value('alignment', 'arousal', 'ccc'), 3)}"
    return [
        f"`{run.directory.as_posix()}`",
        run.analogue,
        run.model,
        f"{run.alpha:g}",
        str(run.seed),
        ccc,
        cell(run.value(*ACCURACY_VA), 3),
        cell(run.value(*PSNR), 2),
        "trained" if run.trained else "read back",
    ]


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return "\n".join(table(header, rows))


def _template() -> Template:
    source = files(__package__).joinpath("results.md.j2").read_text(encoding="utf-8")
    env = Environment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.from_string(source)


def _machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu_model()} ({os.cpu_count()} cores), {gpu}, torch {torch.__version__}"
