"""Networks and the LightningModule: shapes, the paper's sizes, named outputs, readout, gradient routing."""

import pytest
import torch

from levasa.losses.alignment import LinearAlignment, MSEAlignment
from levasa.models.module import LatentVAModule
from levasa.models.networks import ConvDecoder, ConvEncoder, PyramidDecoder, PyramidEncoder


def make_module(size: int = 32, alignment=None, **kwargs) -> LatentVAModule:
    chunks = {"v": 4, "a": 4, "z": 8}
    return LatentVAModule(
        ConvEncoder(size, widths=(8, 16, 16, 32), hidden=(32, 16), chunks=chunks),
        ConvDecoder(size, widths=(8, 16, 16, 32), hidden=(32, 16), chunks=chunks),
        alignment,
        **kwargs,
    )


@pytest.mark.parametrize("size", [32, 64])
def test_paper_network_shapes_and_size(size):
    enc, dec = ConvEncoder(size), ConvDecoder(size)
    x = torch.rand(2, 3, size, size)
    encoding = enc(x)
    assert encoding.v.mu.shape == encoding.a.logvar.shape == encoding.z.mu.shape == (2, 32)
    assert encoding.mu.shape == (2, 96)
    assert dec(encoding.mu).shape == (2, 3, size, size)
    if size == 64:  # the paper's network: 512x3x3 features, about 4 M parameters per half
        assert enc.trunk[0].in_features == 512 * 3 * 3
        for half in (enc, dec):
            assert 3.5e6 < sum(p.numel() for p in half.parameters()) < 4.5e6


def test_bad_geometry_and_chunks_are_clear_errors():
    with pytest.raises(ValueError, match="image_size=40"):
        ConvEncoder(40)
    with pytest.raises(ValueError, match="chunks must name exactly"):
        ConvEncoder(32, chunks={"v": 4, "a": 4})
    with pytest.raises(ValueError, match="positive"):
        ConvDecoder(32, chunks={"v": 0, "a": 4, "z": 4})


@pytest.mark.parametrize(("size", "blocks"), [(32, 0), (64, 0), (64, 1)])
def test_pyramid_network_halves_the_face_exactly_and_returns_its_size(size, blocks):
    chunks = {"v": 2, "a": 2, "z": 32}
    enc, dec = PyramidEncoder(size, chunks=chunks, blocks=blocks), PyramidDecoder(size, chunks=chunks, blocks=blocks)
    x = torch.rand(2, 3, size, size)
    encoding = enc(x)
    assert encoding.v.mu.shape == encoding.a.mu.shape == (2, 2) and encoding.z.logvar.shape == (2, 32)
    assert enc.trunk[0].in_features == 256 * (size // 16) ** 2  # no border lost: 4x4 (64) or 2x2 (32) maps
    assert dec(encoding.mu).shape == (2, 3, size, size)


def test_pyramid_bad_geometry_is_a_clear_error():
    with pytest.raises(ValueError, match=r"image_size=40 must be a multiple of 2\*\*4 = 16"):
        PyramidEncoder(40)
    with pytest.raises(ValueError, match="at least a 2x2 map"):
        PyramidDecoder(16)
    with pytest.raises(ValueError, match="at least one channel"):
        PyramidEncoder(32, widths=())


@pytest.mark.parametrize(("name", "value"), [("alpha", -1.0), ("beta", -0.1), ("alpha", float("nan"))])
def test_negative_weights_are_clear_errors(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a non-negative number"):
        make_module(**{name: value})


def test_forward_gives_named_outputs_and_images_in_range():
    module = make_module(alignment=MSEAlignment(), alpha=1.0)
    out = module(torch.rand(3, 3, 32, 32))
    assert out.z_v.shape == out.z_a.shape == (3, 4) and out.z_z.shape == (3, 8)
    assert out.x_hat.shape == (3, 3, 32, 32)
    assert out.x_hat.min() >= 0.0 and out.x_hat.max() <= 1.0
    assert module.readout(out.encoding).shape == (3, 2)
    assert module.sample(5).shape == (5, 3, 32, 32)


def test_vanilla_has_no_readout_and_no_alignment_term():
    module = make_module(alpha=10.0)
    x = torch.rand(2, 3, 32, 32)
    losses = module.objective(module(x), x, torch.zeros(2, 2))
    assert losses.align.item() == 0.0
    assert losses.loss.item() == pytest.approx(losses.recon.item() + losses.kl.item(), rel=1e-6)
    with pytest.raises(RuntimeError, match="no VA readout"):
        module.readout(module.encode(x))


def test_alignment_gradients_reach_only_the_aligned_chunks():
    torch.manual_seed(0)
    module = make_module(alignment=LinearAlignment(4, 4), alpha=1.0)
    x = torch.rand(4, 3, 32, 32)
    out = module(x)
    module.alignment(out.z_v, out.z_a, torch.rand(4, 2) * 2 - 1).backward()
    heads = module.encoder.heads
    assert heads["v"].weight.grad.abs().sum() > 0 and heads["a"].weight.grad.abs().sum() > 0
    assert heads["z"].weight.grad is None or heads["z"].weight.grad.abs().sum() == 0
    assert all(p.grad is None for p in module.decoder.parameters())


def test_objective_is_recon_plus_beta_kl_plus_alpha_align():
    torch.manual_seed(0)
    module = make_module(alignment=MSEAlignment(), alpha=3.0, beta=0.5)
    x, va = torch.rand(4, 3, 32, 32), torch.rand(4, 2) * 2 - 1
    losses = module.objective(module(x), x, va)
    expected = losses.recon + 0.5 * losses.kl + 3.0 * losses.align
    assert losses.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.align.item() > 0


def test_channels_last_changes_the_layout_not_the_numbers():
    """model.channels_last (the default) keeps convolution weights and activations NHWC: with the same weights
    the outputs and gradients equal NCHW's up to float rounding, and state dicts load across the two."""
    torch.manual_seed(0)
    nhwc = make_module(alignment=LinearAlignment(4, 4), alpha=1.0)
    nchw = make_module(alignment=LinearAlignment(4, 4), alpha=1.0, channels_last=False)
    nchw.load_state_dict(nhwc.state_dict())
    first = {m: m.encoder.features[0].weight for m in (nhwc, nchw)}
    assert first[nhwc].is_contiguous(memory_format=torch.channels_last) and not first[nhwc].is_contiguous()
    assert first[nchw].is_contiguous()
    x, va = torch.rand(6, 3, 32, 32), torch.rand(6, 2) * 2 - 1
    torch.testing.assert_close(nhwc.encode(x).mu, nchw.encode(x).mu, rtol=1e-4, atol=1e-5)
    z = torch.randn(6, 16)
    torch.testing.assert_close(nhwc.decode(z), nchw.decode(z), rtol=1e-4, atol=1e-5)
    losses = {}
    for module in (nhwc, nchw):
        torch.manual_seed(2)  # the same posterior samples
        losses[module] = module.objective(module(x), x, va).loss
        losses[module].backward()
    torch.testing.assert_close(losses[nhwc], losses[nchw], rtol=1e-4, atol=1e-4)
    assert first[nhwc].grad.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(first[nhwc].grad, first[nchw].grad, rtol=1e-3, atol=1e-4)
