"""The structure terms of the objective: the swap cycle and the inhibiting adversaries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate

from levasa.losses.structure import Decorrelation, Inhibition, SwapCycle, reverse_gradient


def test_reverse_gradient_is_the_identity_forward_and_negates_backward():
    x = torch.randn(3, 2, requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, -0.5))


def test_terms_join_the_objective_with_their_weights_and_are_logged_by_name(make_cfg):
    terms = [
        "objective=paper",  # no terms of its own, so the objective holds exactly the two below
        "+model.terms.cycle={_target_: levasa.losses.structure.SwapCycle, weight: 2.0}",
        "+model.terms.inhibit={_target_: levasa.losses.structure.Inhibition, dim_v: 32, dim_a: 32, dim_z: 32}",
    ]
    module = instantiate(make_cfg(*terms).model)
    x, va = torch.rand(6, 3, 32, 32), torch.rand(6, 2) * 2 - 1
    torch.manual_seed(0)
    losses = module.objective(module(x), x, va)
    parts = losses.as_dict()
    assert set(parts) == {"loss", "recon", "kl", "align", "cycle", "inhibit"}
    expected = parts["recon"] + module.beta * parts["kl"] + module.alpha * parts["align"]
    assert torch.allclose(parts["loss"], expected + 2.0 * parts["cycle"] + parts["inhibit"])
    assert parts["cycle"] > 0 and parts["inhibit"] > 0


def chunks(z: torch.Tensor) -> SimpleNamespace:
    """A forward pass whose three chunks all have posterior means ``z``."""
    posterior = SimpleNamespace(mu=z)
    return SimpleNamespace(encoding=SimpleNamespace(v=posterior, a=posterior, z=posterior))


def test_the_adversaries_learn_while_the_encoder_is_pushed_away():
    """The heads' gradients lower the adversary loss; the chunk's (reversed) gradient step raises it."""
    torch.manual_seed(0)
    inhibit = Inhibition(dim_v=2, dim_a=2, dim_z=2, hidden=8)
    z = torch.randn(64, 2, requires_grad=True)
    va = z.detach().clone()  # every chunk holds both axes outright
    optimizer = torch.optim.SGD(inhibit.parameters(), lr=0.05)
    first = inhibit.term(None, None, va, chunks(z)).item()
    for _ in range(200):
        optimizer.zero_grad()
        inhibit.term(None, None, va, chunks(z)).backward()
        optimizer.step()
    trained = inhibit.term(None, None, va, chunks(z))
    assert trained.item() < 0.5 * first
    z.grad = None
    trained.backward()
    stepped = z.detach() - 0.05 * z.grad  # the encoder's optimiser follows the reversed gradient
    assert inhibit.term(None, None, va, chunks(stepped)).item() > trained.item()


def test_the_swap_cycle_is_zero_for_a_model_without_readout_and_checks_its_weight(make_cfg):
    vanilla = instantiate(make_cfg("model=vanilla").model)
    x = torch.rand(4, 3, 32, 32)
    assert SwapCycle().term(vanilla, x, torch.zeros(4, 2), vanilla(x)) == 0
    with pytest.raises(ValueError, match="non-negative"):
        SwapCycle(weight=-1)


def test_decorrelation_is_zero_for_independent_chunks_and_one_per_pair_for_copies():
    torch.manual_seed(0)
    va = torch.rand(512, 2) * 2 - 1
    independent = torch.randn(512, 4)
    copies = SimpleNamespace(mu=torch.cat([va, va], dim=1))  # every code is valence or arousal itself
    term = Decorrelation()
    levasa = SimpleNamespace(has_readout=True)
    none = term.term(levasa, None, va, chunks(independent))
    assert none < 0.02
    full = SimpleNamespace(encoding=SimpleNamespace(v=copies, a=copies, z=copies))
    # each chunk is [V, A, V, A]: z_z holds V twice and A twice (4), z_v holds A twice (2), z_a V twice (2)
    assert torch.isclose(term.term(levasa, None, va, full), torch.tensor(8.0), atol=0.05)
    va[:300, 0] = float("nan")  # unknown labels are left out
    assert torch.isfinite(term.term(levasa, None, va, full))
    vanilla = SimpleNamespace(has_readout=False)  # chunks that are not aligned: nothing to keep apart
    assert term.term(vanilla, torch.zeros(1), va, full) == 0
