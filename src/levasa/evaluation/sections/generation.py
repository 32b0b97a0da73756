"""``generation``: does the decoder draw the expression the aligned chunks say, and keep the person?

An expression judge (:mod:`levasa.evaluation.judge`), trained on the training split's real faces and independent
of the model, reads valence, arousal and the identity factors from what the model decodes:

- ``reconstruction``: decode(mu(x)) against the face's own VA and identity;
- ``swap``: decode([z_v(B), z_a(B), z_z(A)]) for a donor B of another subject: its VA should follow the donor
  (CCC to the donor high, to the recipient low) and its identity the recipient;
- ``edit``: each held-out face's aligned chunks moved, the way they move with their label in the training data
  (the least-squares slope of each code on the label), until the model's own readout hits each point of a grid
  over the circumplex; decoded and judged: CCC and slope of the judged VA against the targets.

Identity scores are the mean R² over the identity factors that the judge itself reads from real held-out faces
with R² >= ``min_factor_r2`` (listed in ``judge.identity_factors``), so that a factor no judge can see counts for
nothing either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from levasa.evaluation.edits import hit_readout, label_directions, swap_donors, swapped_latents, va_grid, va_range
from levasa.evaluation.judge import Judge, JudgeSettings, describe, fit_judge, judge_rows, judge_targets
from levasa.evaluation.sections.base import Context, Section, best_va
from levasa.markdown import table
from levasa.metrics.alignment import AXES, ccc

BATCH = 256


class Generation(Section):
    """Judge-scored reconstructions, swaps and edits (see the module docstring).

    Args:
        judge: how the judge is trained and where it is cached (:class:`JudgeSettings` fields).
        edit_faces: held-out faces edited (each to every grid point).
        edit_steps: grid points per axis; the grid spans the central ``edit_coverage`` of the held-out VA per axis
            (where faces of that kind exist: the synthetic set has no arousal below about -0.4).
        min_factor_r2: identity factors the judge reads worse than this on real faces are not scored.
    """

    title = "Generation: what the decoder draws, judged by an independent expression judge"

    def __init__(
        self,
        judge: dict[str, Any] | None = None,
        edit_faces: int = 64,
        edit_steps: int = 5,
        edit_coverage: float = 0.9,
        min_factor_r2: float = 0.5,
    ) -> None:
        self.settings = JudgeSettings(**(judge or {}))
        self.edit_faces, self.edit_steps, self.edit_coverage = edit_faces, edit_steps, edit_coverage
        self.min_factor_r2 = min_factor_r2

    def compute(self, context: Context) -> dict[str, Any]:
        if context.train_set is None:
            return {"note": "no training faces to train the judge on"}
        train = context.train_set
        targets = judge_targets(train.factors, train.factor_names, train.va.numpy())
        if np.isnan(targets.values).all():
            return {"note": "the training split has no VA labels to train a judge on"}
        rows = judge_rows(targets.values, self.settings.max_train, self.settings.seed)  # bounded memory
        judge = fit_judge(train.image_batch(rows), targets._replace(values=targets.values[rows]), self.settings)
        test = context.test
        truth = judge_targets(test.factors, test.factor_names, test.va).values
        real = judge(context.images)
        identity = self._readable_identity(judge, real, truth)
        section: dict[str, Any] = {"judge": {**describe(judge), **_judge_scores(judge, real, truth, identity)}}
        decode = _decoder(context.module)
        names = tuple(judge.targets)
        section["reconstruction"] = _scores(judge(decode(test.features("z_all"))), truth, identity, names)
        donors = swap_donors(test.subject, context.seed)
        swapped = judge(decode(swapped_latents(test.chunks, donors)))
        section["swap"] = {
            "ccc_donor": _ccc(swapped, truth[donors]),
            "ccc_recipient": _ccc(swapped, truth),
            "identity_r2_recipient": _identity_r2(swapped, truth, identity),
            "factor_r2_recipient": _factor_r2(swapped, truth, identity, names),
        }
        section["edit"] = self._edit(context, judge, decode, truth)
        return section

    def _readable_identity(self, judge: Judge, real: np.ndarray, truth: np.ndarray) -> list[int]:
        """Columns of the identity factors the judge reads from real held-out faces with R² >= the threshold."""
        return [k for k in range(2, len(judge.targets)) if _r2(real[:, k], truth[:, k]) >= self.min_factor_r2]

    def _edit(self, context: Context, judge: Judge, decode, truth: np.ndarray) -> dict[str, Any]:
        module = context.module
        if not getattr(module, "has_readout", False):
            return {"note": "this model has no VA readout to aim an edit with (Vanilla VAE)"}
        rows = np.random.default_rng(context.seed).permutation(len(context.test.keys))[: self.edit_faces]
        grid = va_grid(self.edit_steps, *va_range(truth[:, :2], self.edit_coverage))
        chunks = {name: np.repeat(values[rows], len(grid), axis=0) for name, values in context.test.chunks.items()}
        target = np.tile(grid, (len(rows), 1))
        directions = label_directions(context.train.chunks, best_va(context.train))
        z_v, z_a = hit_readout(
            module.alignment.readout, *(torch.from_numpy(chunks[c]) for c in "va"), torch.from_numpy(target), directions
        )
        judged = judge(decode(np.concatenate([z_v.numpy(), z_a.numpy(), chunks["z"]], axis=1)))
        return {
            "ccc": _ccc(judged, target),
            "slope": {axis: _slope(judged[:, i], target[:, i]) for i, axis in enumerate(AXES)},
            "faces": len(rows),
            "grid_valence": grid[: self.edit_steps, 0].round(4).tolist(),
            "grid_arousal": grid[:: self.edit_steps, 1].round(4).tolist(),
        }

    def render(self, section: dict[str, Any]) -> list[str]:
        """One row per test: judged CCC per axis (to the recipient too, for swaps) and identity R²."""
        judge, rec, swap, edit = (section[k] for k in ("judge", "reconstruction", "swap", "edit"))
        none = [float("nan")] * 2
        rows = [
            ["real held-out face A (the judge itself)", *judge["ccc_real"].values(), *none, judge["identity_r2_real"]],
            ["reconstruction decode(mu(A))", *rec["ccc"].values(), *none, rec["identity_r2"]],
            ["swap [z_v(B), z_a(B), z_z(A)], to donor B", *swap["ccc_donor"].values(), *swap["ccc_recipient"].values()],
        ]
        rows[-1].append(swap["identity_r2_recipient"])
        header = ["judged face", "CCC valence", "CCC arousal", "CCC valence to A", "CCC arousal to A", "identity R²"]
        lines = table(header, rows)
        if "note" in edit:
            lines += ["", f"Edit: _{edit['note']}_"]
        else:
            (cv, ca), (sv, sa) = edit["ccc"].values(), edit["slope"].values()
            steps = len(edit["grid_valence"])
            lines += ["", f"Edit to a {steps}x{steps} VA grid ({edit['faces']} faces): CCC to the targets "
                      f"{cv:.4f} / {ca:.4f}, slope {sv:.3f} / {sa:.3f} (valence / arousal)."]  # fmt: skip
        factors = ", ".join(judge["identity_factors"]) or "none"
        return [*lines, "", f"Judge trained on {judge['source']}; identity factors scored: {factors}."]


def _judge_scores(judge: Judge, real: np.ndarray, truth: np.ndarray, identity: list[int]) -> dict[str, Any]:
    """The judge's own scores on the real held-out faces: CCC per axis, identity R², R² per identity factor."""
    return {
        "ccc_real": _ccc(real, truth),
        "slope_real": {axis: _slope(real[:, i], truth[:, i]) for i, axis in enumerate(AXES)},
        "identity_r2_real": _identity_r2(real, truth, identity),
        "identity_factors": [judge.targets[k] for k in identity],
        "factor_r2_real": {judge.targets[k]: _r2(real[:, k], truth[:, k]) for k in range(2, len(judge.targets))},
    }


def _decoder(module):
    """``decode(z [N, D] numpy) -> images [N, 3, S, S]`` in batches, without gradients."""

    @torch.no_grad()
    def decode(z: np.ndarray) -> torch.Tensor:
        return torch.cat([module.decode(b) for b in torch.from_numpy(np.ascontiguousarray(z)).split(BATCH)])

    return decode


def _ccc(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """CCC per VA axis of judged ``pred [N, K]`` against ``truth [N, >=2]`` (rows with unknown truth left out)."""
    out = {}
    for i, axis in enumerate(AXES):
        known = ~np.isnan(truth[:, i])
        out[axis] = ccc(pred[known, i], truth[known, i]) if known.sum() > 1 else float("nan")
    return out


def _r2(pred: np.ndarray, truth: np.ndarray) -> float:
    known = ~np.isnan(truth)
    residual = np.sum((truth[known] - pred[known]) ** 2)
    total = np.sum((truth[known] - truth[known].mean()) ** 2)
    return float(1 - residual / total) if total > 0 else float("nan")


def _identity_r2(pred: np.ndarray, truth: np.ndarray, identity: list[int]) -> float:
    """Mean R² over the scored identity factors (NaN when none is scored)."""
    return float(np.mean([_r2(pred[:, k], truth[:, k]) for k in identity])) if identity else float("nan")


def _factor_r2(pred: np.ndarray, truth: np.ndarray, identity: list[int], names: tuple[str, ...]) -> dict[str, float]:
    """R² per scored identity factor, by name: which parts of the person a generated face keeps."""
    return {names[k]: _r2(pred[:, k], truth[:, k]) for k in identity}


def _scores(pred: np.ndarray, truth: np.ndarray, identity: list[int], names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "ccc": _ccc(pred, truth),
        "identity_r2": _identity_r2(pred, truth, identity),
        "factor_r2": _factor_r2(pred, truth, identity, names),
    }


def _slope(judged: np.ndarray, target: np.ndarray) -> float:
    """Least-squares slope of the judged value on the target (rows with an unknown target left out)."""
    known = ~np.isnan(target)
    judged, target = judged[known], target[known]
    centred = target - target.mean()
    return float(np.dot(centred, judged - judged.mean()) / np.dot(centred, centred))
