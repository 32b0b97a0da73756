"""ELBO parts and alignment losses: oracle values, reductions, NaN masking, gradient routing."""

import math

import pytest
import torch

from levasa.losses.alignment import BinnedCEAlignment, LinearAlignment, MSEAlignment, masked_mean
from levasa.losses.elbo import kl_divergence, reconstruction_loss


def test_kl_is_zero_at_the_prior_and_matches_hand_value():
    assert kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3), pixels=12).item() == pytest.approx(0.0)
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    by_hand = 0.5 * (1.0 + 0.0) + 0.5 * (2.0 - 1.0 - math.log(2.0))
    assert kl_divergence(mu, logvar, pixels=12).item() == pytest.approx(by_hand)
    assert kl_divergence(mu, logvar, pixels=12, reduction="mean").item() == pytest.approx(by_hand / 12)


def test_reconstruction_sum_is_per_image_and_mean_is_per_pixel_value():
    target = torch.full((2, 3, 4, 4), 0.5)
    logits = torch.zeros_like(target)  # sigmoid(0) = 0.5: perfect
    assert reconstruction_loss(logits, target).item() == pytest.approx(0.0)
    logits = torch.full_like(target, 100.0)  # sigmoid -> 1: error 0.25 per value
    assert reconstruction_loss(logits, target, reduction="sum").item() == pytest.approx(0.25 * 48, rel=1e-4)
    assert reconstruction_loss(logits, target, reduction="mean").item() == pytest.approx(0.25, rel=1e-4)


def test_unknown_reduction_and_reconstruction_are_clear_errors():
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(ValueError, match="reduction must be one of"):
        reconstruction_loss(x, x, reduction="batchmean")
    with pytest.raises(ValueError, match="reconstruction must be one of"):
        reconstruction_loss(x, x, kind="l1")


def _labels(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_mse_alignment_oracle_zero_and_shuffled_large():
    va = _labels()
    loss = MSEAlignment()
    z_v, z_a = va[:, :1].repeat(1, 8), va[:, 1:].repeat(1, 8)
    assert loss(z_v, z_a, va).item() == pytest.approx(0.0, abs=1e-7)
    assert torch.allclose(loss.readout(z_v, z_a), va)
    shuffled = va[torch.randperm(len(va), generator=torch.Generator().manual_seed(1))]
    assert loss(z_v, z_a, shuffled).item() > 0.5


def test_linear_alignment_oracle_zero_and_shuffled_large():
    va = _labels()
    loss = LinearAlignment(dim_v=4, dim_a=4)
    with torch.no_grad():
        for head in loss.heads:
            head.weight.zero_()
            head.weight[0, 0] = 2.0
            head.bias.zero_()
    z_v = torch.cat([va[:, :1] / 2, torch.randn(len(va), 3)], dim=1)
    z_a = torch.cat([va[:, 1:] / 2, torch.randn(len(va), 3)], dim=1)
    assert loss(z_v, z_a, va).item() == pytest.approx(0.0, abs=1e-6)
    assert torch.allclose(loss.readout(z_v, z_a), va, atol=1e-6)
    assert loss(z_v, z_a, va.flip(0)).item() > 0.5


def test_ce_alignment_bin_offset():
    loss = BinnedCEAlignment(dim_v=2, dim_a=2)
    labels = torch.tensor([-1.0, -0.94, 0.0, 0.3, 1.0])
    assert loss.to_bin(labels).tolist() == [0, 1, 10, 13, 20]  # the AFEW-VA integer plus 10
    assert loss.centres[loss.to_bin(torch.tensor([0.3]))].item() == pytest.approx(0.3)


def test_ce_alignment_learns_encoded_labels_but_not_shuffled_ones():
    va = torch.round(_labels(256) * 10) / 10
    shuffled = va[torch.randperm(len(va), generator=torch.Generator().manual_seed(2))]

    def fitted_loss(target: torch.Tensor) -> float:
        torch.manual_seed(0)
        loss = BinnedCEAlignment(dim_v=1, dim_a=1, hidden=64)
        opt = torch.optim.Adam(loss.parameters(), lr=0.02)
        for _ in range(300):
            opt.zero_grad()
            value = loss(va[:, :1], va[:, 1:], target)
            value.backward()
            opt.step()
        return value.item()

    matched, unmatched = fitted_loss(va), fitted_loss(shuffled)
    assert matched < 0.5
    assert unmatched > 2.0


@pytest.mark.parametrize("loss", [MSEAlignment(), LinearAlignment(3, 3), BinnedCEAlignment(3, 3)])
def test_unknown_labels_are_masked(loss):
    z = torch.randn(6, 3)
    va = _labels(6)
    va[:, 1] = float("nan")  # arousal unknown everywhere: only the valence term remains
    va[3:, 0] = float("nan")  # valence unknown in the last three rows
    assert loss(z, z, va).item() == pytest.approx(loss(z[:3], z[:3], va[:3]).item(), rel=1e-6)
    assert loss(z, z, torch.full((6, 2), float("nan"))).item() == 0.0


def test_masked_mean_ignores_nan_rows():
    values = torch.tensor([1.0, 2.0, 100.0])
    assert masked_mean(values, torch.tensor([0.0, 0.0, float("nan")])).item() == pytest.approx(1.5)


def test_the_calibrated_gaussian_is_the_likelihood_at_its_maximum_likelihood_variance():
    torch.manual_seed(0)
    target = torch.rand(4, 3, 8, 8)
    logits = torch.randn(4, 3, 8, 8)
    mse = (torch.sigmoid(logits) - target).pow(2).mean()
    values = target[0].numel()
    expected = values / 2 * (torch.log(2 * torch.pi * mse) + 1)  # per image: D/2 (log 2 pi sigma² + 1)
    assert torch.allclose(reconstruction_loss(logits, target, "gaussian", "sum"), expected, rtol=1e-5)
    assert torch.allclose(reconstruction_loss(logits, target, "gaussian", "mean"), expected / values, rtol=1e-5)
    perfect = torch.logit(target.clamp(0.01, 0.99))  # variance floored: a perfect decoder has a finite loss
    assert torch.isfinite(reconstruction_loss(perfect, target.clamp(0.01, 0.99), "gaussian"))
