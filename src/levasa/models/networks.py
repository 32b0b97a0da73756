"""The LeVAsa encoder and decoder (the paper's architecture, with widths, chunk sizes and input size as config).

Encoder: ``len(widths)`` 3x3 stride-2 convolutions (BatchNorm, ReLU; no padding), flatten, an MLP
(``hidden``, ReLU), then one Gaussian head per latent chunk. At 64x64 with the default widths
(64, 128, 256, 512) the feature map is 512x3x3; at 32x32 it is 512x1x1.
Decoder: an MLP from the concatenated latent to the feature map, ``len(widths) - 1`` 3x3 stride-2
transposed convolutions and a final 4x4 stride-2 one to RGB logits at the input size.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from levasa.models.outputs import CHUNKS, Encoding, Posterior


def conv_output_size(image_size: int, layers: int) -> int:
    """Spatial size after ``layers`` 3x3 stride-2 unpadded convolutions."""
    size = image_size
    for _ in range(layers):
        size = (size - 3) // 2 + 1
    return size


def deconv_output_size(size: int, layers: int) -> int:
    """Spatial size after ``layers - 1`` 3x3 and one 4x4 stride-2 transposed convolutions."""
    for _ in range(layers - 1):
        size = (size - 1) * 2 + 3
    return (size - 1) * 2 + 4


def check_geometry(image_size: int, widths: Sequence[int]) -> int:
    """The encoder's final spatial size; raises when the decoder cannot return ``image_size``."""
    if not widths:
        raise ValueError("widths must list at least one channel count")
    size = conv_output_size(image_size, len(widths))
    if size < 1 or deconv_output_size(size, len(widths)) != image_size:
        raise ValueError(
            f"image_size={image_size} does not fit {len(widths)} stride-2 layers: the decoder would return "
            f"{deconv_output_size(max(size, 1), len(widths))}; with 4 layers, 32, 48 and 64 work"
        )
    return size


def check_chunks(chunks: Mapping[str, int]) -> dict[str, int]:
    """The chunk sizes as a plain dict in order v, a, z; raises on missing names or bad sizes."""
    if set(chunks) != set(CHUNKS):
        raise ValueError(f"chunks must name exactly {list(CHUNKS)}, found {list(chunks)}")
    sizes = {name: int(chunks[name]) for name in CHUNKS}
    bad = {n: s for n, s in sizes.items() if s < 1}
    if bad:
        raise ValueError(f"chunk sizes must be positive, found {bad}")
    return sizes


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between consecutive ``sizes`` (and after the last)."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """Images ``[B, 3, S, S]`` in [0, 1] -> per-chunk Gaussian posteriors.

    Args:
        image_size: input side S (32 or 64 with four layers).
        widths: channels of the stride-2 convolutions.
        hidden: MLP widths after the flattened feature map.
        chunks: latent chunk sizes ``{"v": d_v, "a": d_a, "z": d_z}``.
        in_channels: image channels.
    """

    def __init__(
        self,
        image_size: int = 64,
        widths: Sequence[int] = (64, 128, 256, 512),
        hidden: Sequence[int] = (512, 128),
        chunks: Mapping[str, int] | None = None,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.chunks = check_chunks(chunks or {"v": 32, "a": 32, "z": 32})
        side = check_geometry(image_size, widths)
        convs: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *widths[:-1]], widths, strict=False):
            convs += [nn.Conv2d(c_in, c_out, 3, stride=2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*convs, nn.Flatten())
        self.trunk = mlp([widths[-1] * side * side, *hidden])
        self.heads = nn.ModuleDict({name: nn.Linear(hidden[-1], 2 * d) for name, d in self.chunks.items()})

    def forward(self, x: Tensor) -> Encoding:
        """Posteriors of z_v, z_a and z_z for ``x [B, 3, S, S]``."""
        h = self.trunk(self.features(x))
        posteriors = {}
        for name, head in self.heads.items():
            mu, logvar = head(h).chunk(2, dim=1)
            posteriors[name] = Posterior(mu, logvar)
        return Encoding(**posteriors)


class ConvDecoder(nn.Module):
    """Latent ``[B, d_v + d_a + d_z]`` -> RGB logits ``[B, 3, S, S]`` (apply a sigmoid for images).

    Args mirror :class:`ConvEncoder`; ``hidden`` is traversed in reverse.
    """

    def __init__(
        self,
        image_size: int = 64,
        widths: Sequence[int] = (64, 128, 256, 512),
        hidden: Sequence[int] = (512, 128),
        chunks: Mapping[str, int] | None = None,
        out_channels: int = 3,
    ) -> None:
        super().__init__()
        sizes = check_chunks(chunks or {"v": 32, "a": 32, "z": 32})
        self.side = check_geometry(image_size, widths)
        self.top = widths[-1]
        self.project = mlp([sum(sizes.values()), *reversed(hidden), self.top * self.side * self.side])
        deconvs: list[nn.Module] = []
        rev = list(reversed(widths))
        for c_in, c_out in itertools.pairwise(rev):
            deconvs += [nn.ConvTranspose2d(c_in, c_out, 3, stride=2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        deconvs.append(nn.ConvTranspose2d(rev[-1], out_channels, 4, stride=2))
        self.deconvs = nn.Sequential(*deconvs)

    def forward(self, z: Tensor) -> Tensor:
        """Logits ``[B, 3, S, S]`` for latents ``z [B, D]``."""
        h = self.project(z).view(-1, self.top, self.side, self.side)
        return self.deconvs(h)


def pyramid_side(image_size: int, widths: Sequence[int]) -> int:
    """The feature map's side after ``len(widths)`` halvings; raises unless ``image_size`` halves exactly."""
    if not widths:
        raise ValueError("widths must list at least one channel count")
    side, rest = divmod(image_size, 2 ** len(widths))
    if rest or side < 2:
        raise ValueError(
            f"image_size={image_size} must be a multiple of 2**{len(widths)} = {2 ** len(widths)} (one halving per "
            f"width) with at least a 2x2 map left; with 4 widths, 32 and 64 work"
        )
    return side


class ResidualBlock(nn.Module):
    """``x + conv(relu(bn(conv(x))))`` at constant size and width, followed by BatchNorm and ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )
        self.out = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(x + self.body(x))


def _stage(conv: nn.Module, channels: int, blocks: int) -> list[nn.Module]:
    """A resampling convolution, BatchNorm, ReLU, then ``blocks`` residual blocks."""
    return [conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True), *(ResidualBlock(channels) for _ in range(blocks))]


class PyramidEncoder(nn.Module):
    """Images ``[B, 3, S, S]`` in [0, 1] -> per-chunk Gaussian posteriors, through padded 4x4 stride-2 convolutions
    that halve the side exactly (64 -> 32 -> 16 -> 8 -> 4 with four widths), each optionally followed by residual
    blocks, then one hidden layer and a Gaussian head per chunk. The feature map keeps where things are (no
    border lost to unpadded convolutions).

    Args:
        image_size: input side S (a multiple of ``2 ** len(widths)``).
        widths: channels after each halving.
        hidden: MLP widths between the flattened feature map and the heads.
        chunks: latent chunk sizes ``{"v": d_v, "a": d_a, "z": d_z}``.
        blocks: residual blocks after each halving.
        in_channels: image channels.
    """

    def __init__(
        self,
        image_size: int = 64,
        widths: Sequence[int] = (32, 64, 128, 256),
        hidden: Sequence[int] = (256,),
        chunks: Mapping[str, int] | None = None,
        blocks: int = 0,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.chunks = check_chunks(chunks or {"v": 32, "a": 32, "z": 32})
        side = pyramid_side(image_size, widths)
        layers: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *widths[:-1]], widths, strict=True):
            layers += _stage(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False), c_out, blocks)
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.trunk = mlp([widths[-1] * side * side, *hidden])
        self.heads = nn.ModuleDict({name: nn.Linear(hidden[-1], 2 * d) for name, d in self.chunks.items()})

    def forward(self, x: Tensor) -> Encoding:
        """Posteriors of z_v, z_a and z_z for ``x [B, 3, S, S]``."""
        h = self.trunk(self.features(x))
        return Encoding(**{name: Posterior(*head(h).chunk(2, dim=1)) for name, head in self.heads.items()})


class PyramidDecoder(nn.Module):
    """Latent ``[B, d_v + d_a + d_z]`` -> RGB logits ``[B, 3, S, S]``: a linear map to the smallest feature map,
    then per width but the first a nearest-neighbour doubling and a 3x3 convolution (resize-convolution: no
    checkerboard of overlapping transposed kernels), optionally residual blocks, and a last doubling with a 3x3
    convolution to RGB at full size.

    Args mirror :class:`PyramidEncoder`; the widths are traversed in reverse.
    """

    def __init__(
        self,
        image_size: int = 64,
        widths: Sequence[int] = (32, 64, 128, 256),
        hidden: Sequence[int] = (256,),
        chunks: Mapping[str, int] | None = None,
        blocks: int = 0,
        out_channels: int = 3,
    ) -> None:
        super().__init__()
        sizes = check_chunks(chunks or {"v": 32, "a": 32, "z": 32})
        self.side = pyramid_side(image_size, widths)
        self.top = widths[-1]
        self.project = mlp([sum(sizes.values()), *reversed(hidden), self.top * self.side * self.side])
        rev = list(reversed(widths))
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(rev):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
            layers += _stage(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv), c_out, blocks)
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(rev[-1], out_channels, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """Logits ``[B, 3, S, S]`` for latents ``z [B, D]``."""
        return self.layers(self.project(z).view(-1, self.top, self.side, self.side))
