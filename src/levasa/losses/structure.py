"""Terms that structure the latent space both ways, added to the objective with their own weights
(``model.terms`` in config; each logged as ``<stage>/<name>``).

- :class:`SwapCycle`: the decoder must draw the expression the aligned chunks say and keep the person z_z says.
  A batch's faces are paired with donors (the batch rolled by one); ``decode([z_v(B), z_a(B), z_z(A)])`` is
  encoded again, and its VA readout must be B's VA while its z_z must stay A's.
- :class:`Inhibition`: adversaries read valence and arousal from z_z, arousal from z_v and valence from z_a
  through a gradient reversal, so that the encoder learns to keep each axis out of the chunks that should not
  hold it (Ganin and Lempitsky's domain-adversarial training, applied to the latent chunks).
- :class:`Decorrelation`: the same inhibition as a bounded penalty: the squared correlations, over the batch, of
  the codes of z_z with valence and arousal, of z_v with arousal and of z_a with valence (linear dependence,
  what a linear probe reads; no adversary to balance). Zero for a model without aligned chunks (Vanilla VAE).
- :class:`ConditionalPrior`: a label-conditioned prior on the aligned chunks in the style of CCVAE (Joy et al.,
  2021): the posterior of z_v is pulled towards N(m_v(valence), diag s_v²) with a learned affine mean and scale
  (z_a likewise with arousal), so that what z_v holds beyond valence costs KL, and identity drains into z_z.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor, nn

from levasa.losses.alignment import masked_mean


class StructureTerm(nn.Module, ABC):
    """A weighted extra term of the objective: ``weight * term(module, x, va, out)``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"a structure term's weight must be a non-negative number, found {weight}")
        self.weight = float(weight)

    @abstractmethod
    def term(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        """The unweighted term (a scalar) for images ``x``, labels ``va [B, 2]`` and the forward pass ``out`` (a
        :class:`levasa.models.outputs.VAEOutput`; losses do not import the models)."""

    def forward(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        return self.term(module, x, va, out)


def _squared_error(pred: Tensor, label: Tensor) -> Tensor:
    """Per-axis masked mean squared error, summed over the two axes (rows with an unknown label left out)."""
    return sum(masked_mean((pred[:, i] - torch.nan_to_num(label[:, i])).pow(2), label[:, i]) for i in (0, 1))


class SwapCycle(StructureTerm):
    """Swap the aligned chunks between faces, decode, encode again: the readout must follow the donor, z_z the
    recipient (see the module docstring).

    Args:
        weight: the term's weight in the objective.
        identity: weight of the z_z part (mean squared distance of the posterior means) against the VA part.
    """

    def __init__(self, weight: float = 1.0, identity: float = 1.0) -> None:
        super().__init__(weight)
        self.identity = float(identity)

    def term(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        if not module.has_readout or len(x) < 2:
            return x.new_zeros(())
        donor = torch.roll(torch.arange(len(x), device=x.device), 1)
        z = torch.cat([out.z_v[donor], out.z_a[donor], out.z_z], dim=1)
        again = module.encode(module.decode(z))
        readout = module.alignment.readout(again.v.mu, again.a.mu)
        kept = (again.z.mu - out.encoding.z.mu).pow(2).sum(1).mean()
        return _squared_error(readout, va[donor]) + self.identity * kept


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient multiplied by ``-scale`` backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: Tensor, scale: float = 1.0) -> Tensor:
    """``x`` unchanged, with its gradient reversed (times ``scale``) on the way back."""
    return _ReverseGradient.apply(x, scale)


class Inhibition(StructureTerm):
    """Adversaries that read VA from z_z, arousal from z_v and valence from z_a through a gradient reversal: they
    learn to read, the encoder learns to leave nothing to read.

    Args:
        dim_v, dim_a, dim_z: the chunk sizes.
        weight: the term's weight; hidden: width of each adversary's hidden layer.
    """

    def __init__(self, dim_v: int, dim_a: int, dim_z: int, weight: float = 1.0, hidden: int = 64) -> None:
        super().__init__(weight)

        def head(dim: int, outputs: int) -> nn.Module:
            return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, outputs))

        self.from_z = head(dim_z, 2)
        self.from_v = head(dim_v, 1)
        self.from_a = head(dim_a, 1)

    def term(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        enc = out.encoding
        z = self.from_z(reverse_gradient(enc.z.mu))
        cross = torch.cat([self.from_a(reverse_gradient(enc.a.mu)), self.from_v(reverse_gradient(enc.v.mu))], dim=1)
        return _squared_error(z, va) + _squared_error(cross, va)


def _squared_correlation(codes: Tensor, label: Tensor) -> Tensor:
    """Sum over the codes ``[B, d]`` of their squared Pearson correlation with ``label [B]`` over the rows whose
    label is known (0 with fewer than three): for uncorrelated codes, the R² of a linear fit of the label."""
    known = ~torch.isnan(label)
    if int(known.sum()) < 3:
        return codes.new_zeros(())
    x, y = codes[known], label[known]
    x = x - x.mean(0)
    y = y - y.mean()
    covariance = (x * y[:, None]).mean(0)
    return (covariance.pow(2) / (x.pow(2).mean(0) * y.pow(2).mean()).clamp_min(1e-8)).sum()


class Decorrelation(StructureTerm):
    """Squared correlations of z_z with valence and arousal, of z_v with arousal and of z_a with valence (posterior
    means), summed over codes and pairs: 0 when no code of a chunk varies linearly with an axis it should not
    hold."""

    def term(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        if not module.has_readout:  # a Vanilla VAE's chunks are not aligned: nothing to keep apart
            return x.new_zeros(())
        enc = out.encoding
        pairs = ((enc.z.mu, 0), (enc.z.mu, 1), (enc.v.mu, 1), (enc.a.mu, 0))
        return sum(_squared_correlation(codes, va[:, axis]) for codes, axis in pairs)


class ConditionalPrior(StructureTerm):
    """KL of the aligned chunks' posteriors to priors conditioned on their labels (see the module docstring),
    averaged over the rows whose label is known, summed over the two chunks.

    Args:
        dim_v, dim_a: the chunk sizes; weight: the term's weight.
    """

    def __init__(self, dim_v: int, dim_a: int, weight: float = 1.0) -> None:
        super().__init__(weight)
        self.mean = nn.ModuleList([nn.Linear(1, dim_v), nn.Linear(1, dim_a)])
        self.log_var = nn.ParameterList([nn.Parameter(torch.zeros(dim_v)), nn.Parameter(torch.zeros(dim_a))])

    def term(self, module: Any, x: Tensor, va: Tensor, out: Any) -> Tensor:
        total = va.new_zeros(())
        for axis, posterior in enumerate((out.encoding.v, out.encoding.a)):
            label = va[:, axis]
            mean = self.mean[axis](torch.nan_to_num(label)[:, None])
            log_var = self.log_var[axis]
            kl = 0.5 * (log_var - posterior.logvar + (posterior.logvar.exp() + (posterior.mu - mean).pow(2))
                        / log_var.exp() - 1).sum(1)  # fmt: skip
            total = total + masked_mean(kl, label)
        return total
