"""A verdict per claim of the paper on one analogue, from the statistics over seeds: a comparison counts only
when the means differ by more than two standard errors of the difference (0.02 with a single seed)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from omegaconf import DictConfig

from levasa.study.runs import (
    ACCURACY_VA,
    MAJORITY,
    ORACLE,
    PSNR,
    Run,
    Stats,
    chunk_r2,
    mean_ccc,
    select,
    stats,
    sweep_alphas,
)


class Verdict(NamedTuple):
    """One claim judged on one analogue, with the numbers that decided it."""

    claim: str
    analogue: str
    verdict: str
    evidence: str


def separated(a: Stats, b: Stats) -> bool:
    """Whether mean ``a`` exceeds mean ``b`` by more than two standard errors of the difference (at least 0.02
    when a single seed gives no spread)."""
    if not (a.n and b.n):
        return False
    margin = 2 * np.sqrt(a.std**2 / a.n + b.std**2 / b.n) if a.n > 1 and b.n > 1 else 0.02
    return bool(a.mean - b.mean > max(margin, 1e-9))


def _verdict(wins: list[str], candidates: list[str]) -> str:
    """The verdict on the winning models: "holds" when every candidate wins, "holds only with ..." when some do."""
    if not wins:
        return "does not hold"
    if len(wins) == len(candidates):
        return "holds"
    return "holds only with " + ", ".join(wins)


def _show(s: Stats) -> str:
    return f"{s.mean:.3f} ± {s.std:.3f}"


def verdicts(cfg: DictConfig, runs: list[Run], analogue: str, by_model: dict[str, list[Run]]) -> list[Verdict]:
    """The four claims on one analogue (the fourth only on the sweep's analogue); ``by_model`` holds each
    model's runs at the main grid's alpha."""
    aligned = [m for m in cfg.models if m != "vanilla"]
    vanilla = by_model.get("vanilla", [])
    claims = [
        Verdict("Claim 1, alignment", analogue, *_va_in_chunks(by_model, aligned, vanilla, "linear", readout=True)),
        Verdict(
            "Claim 2, VA readable from the aligned chunks",
            analogue,
            *_va_in_chunks(by_model, aligned, vanilla, "mlp", readout=False),
        ),
        Verdict("Claim 3, better downstream emotion prediction", analogue, *_emotion(by_model, aligned, vanilla)),
    ]
    if analogue == cfg.sweep.analogue:
        psnr = {a: stats(select(runs, analogue, cfg.sweep.model, a), PSNR) for a in sweep_alphas(cfg, runs)}
        claims.append(Verdict("Claim 4, alignment costs reconstruction", analogue, *_reconstruction(psnr, vanilla)))
    return claims


def _va_in_chunks(
    by_model: dict[str, list[Run]], aligned: list[str], vanilla: list[Run], kind: str, readout: bool
) -> tuple[str, str]:
    """Claims 1 and 2: the aligned chunks hold VA for the ``kind`` probe (mean R² of z_v→V and z_a→A), more
    than a Vanilla VAE's chunks, and VA is read well: by the model's own readout (CCC over 0.5, shown beside)
    when ``readout``, else by that probe (R² over 0.5)."""
    r2 = chunk_r2(kind)
    gate = mean_ccc if readout else r2
    base = stats(vanilla, r2)
    wins = [m for m in aligned if separated(stats(by_model[m], r2), base) and stats(by_model[m], gate).mean > 0.5]

    def shown(model: str) -> str:
        probed = f"{model} {_show(stats(by_model[model], r2))}"
        return f"{probed} (readout CCC {_show(stats(by_model[model], mean_ccc))})" if readout else probed

    probe = "MLP" if kind == "mlp" else kind
    evidence = f"mean {probe} R² of z_v→V and z_a→A: vanilla {_show(base)}; " + ", ".join(map(shown, aligned))
    return _verdict(wins, aligned), evidence


def _emotion(by_model: dict[str, list[Run]], aligned: list[str], vanilla: list[Run]) -> tuple[str, str]:
    """Claim 3: emotion prediction from [z_v, z_a] improves over Vanilla and beats the majority class."""
    everyone = [r for rs in by_model.values() for r in rs]
    majority, oracle, base = stats(everyone, MAJORITY), stats(everyone, ORACLE), stats(vanilla, ACCURACY_VA)
    accuracy = {m: stats(by_model[m], ACCURACY_VA) for m in aligned}
    wins = [m for m in aligned if separated(accuracy[m], base) and separated(accuracy[m], majority)]
    evidence = (
        f"accuracy from [z_v, z_a]: vanilla {_show(base)}, majority class {majority.mean:.3f}, oracle "
        f"{oracle.mean:.3f}; " + ", ".join(f"{m} {_show(accuracy[m])}" for m in aligned)
    )
    whole = stats(vanilla, ("emotion_probe", "z_all", "accuracy"))
    if whole.n and not separated(whole, majority):
        evidence += (
            f". The Vanilla VAE's whole latent (z_all) scores {_show(whole)}, no better than the majority class: "
            "at this training budget a probe fitted on other identities reads no expression from it, so the gain "
            "measures what the VA supervision adds"
        )
    return _verdict(wins, aligned), evidence


def _reconstruction(psnr: dict[float, Stats], vanilla: list[Run]) -> tuple[str, str]:
    """Claim 4: alignment costs reconstruction, from the PSNR by alpha of the sweep (``psnr``)."""
    zero = psnr.get(0.0)
    costly = [a for a, s in psnr.items() if a > 0 and zero is not None and separated(zero, s)]
    if zero is None or len(psnr) < 2:
        outcome = "not tested (the sweep has no alpha = 0 run)"
    elif not costly:
        outcome = "does not hold"
    elif costly == [a for a in psnr if a > 0]:
        outcome = "holds"
    else:
        outcome = f"holds only when alpha >= {min(costly):g}"
    evidence = "PSNR (dB) by alpha: " + ", ".join(f"{a:g}: {s.mean:.2f} ± {s.std:.2f}" for a, s in psnr.items())
    plain = stats(vanilla, PSNR)
    if plain.n:
        evidence += f"; Vanilla VAE {plain.mean:.2f} ± {plain.std:.2f}"
    return outcome, evidence
