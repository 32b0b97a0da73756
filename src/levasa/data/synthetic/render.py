"""The batch-vectorised numpy rasteriser: faces of given valence-arousal and nuisance factors, a chunk at a time.

Every face part is an implicit shape (ellipse, lens, capsule, half-plane) in the face's own rotated and scaled frame,
its coverage anti-aliased analytically from an approximate signed distance in pixels, and the parts are composited
front to back in float32. Responses to valence and arousal are therefore continuous, not pixel-quantised; rendering
whole chunks avoids a per-image Python loop.
"""

from __future__ import annotations

import numpy as np

from levasa.checks import check_integer, check_shape
from levasa.data.synthetic.identities import NUISANCE_NAMES

MIN_IMAGE_SIZE = 16
"""The smallest image side the face parts stay legible at."""

_CHUNK_PIXELS = 2**17
"""Pixels rendered at once (32 images at 64x64): bounds memory and keeps the working buffers in cache."""


_SKIN_DARK, _SKIN_PALE = (0.5, 0.33, 0.24), (0.95, 0.8, 0.7)
_HAIR_DARK, _HAIR_BLOND, _HAIR_RED = (0.07, 0.05, 0.04), (0.88, 0.74, 0.46), (0.6, 0.22, 0.08)
_SCLERA, _IRIS, _LIDS, _MOUTH = (0.96, 0.95, 0.93), (0.12, 0.08, 0.06), (0.2, 0.12, 0.1), (0.28, 0.04, 0.06)
_LIP, _BLUSH, _TEETH = (0.78, 0.24, 0.28), (0.95, 0.38, 0.4), (0.94, 0.93, 0.88)


def render(va: np.ndarray, nuisance: np.ndarray, image_size: int = 64, seed: int = 0) -> np.ndarray:
    """Render faces with expression ``va`` (float ``[N, 2]`` in ``[-1, 1]``) and factors ``nuisance``
    (float ``[N, F]``); the pixel noise is drawn from ``seed``. Returns uint8 ``[N, S, S, 3]``."""
    va = np.asarray(va, dtype=np.float32)
    nuisance = np.asarray(nuisance, dtype=np.float32)
    check_shape("va", va, (None, 2))
    check_shape("nuisance", nuisance, (va.shape[0], len(NUISANCE_NAMES)))
    check_integer("image_size", image_size, MIN_IMAGE_SIZE)
    if not (np.isfinite(va).all() and np.abs(va).max(initial=0) <= 1):
        raise ValueError(f"va must be finite and in [-1, 1], found range [{va.min()}, {va.max()}]")
    if not np.isfinite(nuisance).all():
        raise ValueError("nuisance must be finite, found NaN or inf")
    out = np.empty((va.shape[0], image_size, image_size, 3), dtype=np.uint8)
    chunk = max(1, _CHUNK_PIXELS // image_size**2)
    seeds = np.random.SeedSequence(seed).spawn(-(-va.shape[0] // chunk))
    for i, chunk_seed in zip(range(0, va.shape[0], chunk), seeds, strict=True):
        sl = slice(i, i + chunk)
        _render_chunk(va[sl], nuisance[sl], out[sl], np.random.default_rng(chunk_seed))
    return out


def _render_chunk(va: np.ndarray, nuisance: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> None:
    """Render one chunk into ``out`` (uint8 ``[B, S, S, 3]``)."""
    p = _Params(va, nuisance, out.shape[1])
    u, v = p.frame()
    layers = _Layers(len(va), u.shape[1], p.lighting())
    _expression_layers(layers, p, u, v)
    _head_layers(layers, p, u, v)
    layers.finish(p.colours(), p.noise_std, out, rng)


def _col(x: np.ndarray) -> np.ndarray:
    """Per-image scalars ``[B]`` as float32 ``[B, 1]`` for broadcasting over pixels ``[B, P]``."""
    return np.asarray(x, dtype=np.float32).reshape(-1, 1)


class _Params:
    """Per-image parameters ``[B]`` (float64); lengths in face units (1 = half the face height)."""

    def __init__(self, va: np.ndarray, nuisance: np.ndarray, size: int) -> None:
        f = {name: nuisance[:, i].astype(np.float64) for i, name in enumerate(NUISANCE_NAMES)}
        self.f, self.size = f, size
        val, aro = va[:, 0].astype(np.float64), (va[:, 1].astype(np.float64) + 1) / 2
        self.val, self.aro = val, aro
        self.radius = 0.31 * size * f["scale"]  # pixels per face unit
        self.noise_std = f["noise_std"]
        self.aspect = f["face_aspect"]

    def frame(self) -> tuple[np.ndarray, np.ndarray]:
        """Face-frame coordinates of the pixel centres, ``u`` (right) and ``v`` (down): ``[B, P = S * S]``."""
        s, f = self.size, self.f
        grid = np.arange(s, dtype=np.float64) + 0.5
        cx, cy = s * (0.5 + f["pos_x"]), s * (0.53 + f["pos_y"])
        cos, sin = np.cos(f["rotation"]) / self.radius, np.sin(f["rotation"]) / self.radius
        gx, gy = grid[None, :] - cx[:, None], grid[None, :] - cy[:, None]  # [B, S]
        xc, xs = (gx * cos[:, None]).astype(np.float32), (gx * sin[:, None]).astype(np.float32)
        yc, ys = (gy * cos[:, None]).astype(np.float32), (gy * sin[:, None]).astype(np.float32)
        u, v = xc[:, None, :] + ys[:, :, None], yc[:, :, None] - xs[:, None, :]
        return u.reshape(len(u), -1), v.reshape(len(v), -1)

    def lighting(self) -> np.ndarray:
        """Multiplicative lighting gradient over the image, float32 ``[B, P]``."""
        s, f = self.size, self.f
        grid = (np.arange(s, dtype=np.float64) + 0.5) / s * 2 - 1
        gx = f["light_strength"] * np.cos(f["light_angle"])
        gy = f["light_strength"] * np.sin(f["light_angle"])
        lx = (1 + gx[:, None] * grid[None, :]).astype(np.float32)
        ly = (gy[:, None] * grid[None, :]).astype(np.float32)
        return (lx[:, None, :] + ly[:, :, None]).reshape(len(lx), -1)

    def colours(self) -> np.ndarray:
        """Layer colours, float32 ``[B, K, 3]`` in ``[0, 255]``, in :data:`_LAYERS` order."""
        f = self.f
        skin = _lerp(_SKIN_DARK, _SKIN_PALE, f["skin_tone"])
        hair = _lerp(_lerp(_HAIR_DARK, _HAIR_BLOND, f["hair_tone"]), _HAIR_RED, 0.6 * f["hair_warmth"])
        const = np.ones_like(skin)
        bg = np.stack([f["bg_red"], f["bg_green"], f["bg_blue"]], axis=1)
        by_layer = {
            "teeth": const * _TEETH,
            "mouth": const * _MOUTH,
            "lips": _lerp(skin, _LIP, 0.6),
            "iris": const * _IRIS,
            "sclera": const * _SCLERA,
            "lids": const * _LIDS,
            "brows": hair * 0.35,
            "nose": skin * 0.72,
            "blush": const * _BLUSH,
            "fringe": hair,
            "face": skin,
            "neck": skin * 0.8,
            "hair": hair * 0.85,
            "background": bg,
        }
        return (np.stack([by_layer[k] for k in _LAYERS], axis=1) * 255).astype(np.float32)


_LAYERS = (
    "teeth",
    "mouth",
    "lips",
    "iris",
    "sclera",
    "lids",
    "brows",
    "nose",
    "blush",
    "fringe",
    "face",
    "neck",
    "hair",
    "background",
)
"""Layers, front to back."""


def _lerp(a: tuple | np.ndarray, b: tuple | np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Blend colours ``a`` and ``b`` (``[3]`` or ``[B, 3]``) by ``t`` (scalar or ``[B]``): ``[B, 3]``."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    return np.asarray(a) * (1 - t) + np.asarray(b) * t


class _Layers:
    """Front-to-back compositing: each layer's weight is its coverage times the light still passing."""

    def __init__(self, b: int, p: int, lighting: np.ndarray) -> None:
        self.weights = np.empty((b, len(_LAYERS), p), dtype=np.float32)
        self.transmit = lighting  # the lighting gradient scales every layer's contribution

    def add(self, name: str, coverage: np.ndarray) -> None:
        """Composite a layer of ``coverage`` in ``[0, 1]``, ``[B, P]``, behind those already added."""
        w = self.weights[:, _LAYERS.index(name)]
        np.multiply(coverage, self.transmit, out=w)
        self.transmit -= w

    def finish(self, colours: np.ndarray, noise_std: np.ndarray, out: np.ndarray, rng: np.random.Generator):
        """Mix the colours ``[B, K, 3]`` (0..255), add uniform pixel noise of std ``noise_std`` ``[B]``
        (intensity units) and write uint8 ``out``."""
        self.weights[:, -1] = self.transmit
        img = np.matmul(self.weights.transpose(0, 2, 1), colours)  # [B, P, 3]
        noise = np.frombuffer(rng.bytes(img.size), dtype=np.uint8).reshape(img.shape)
        # uniform bytes -> zero-mean noise, plus 0.5 for rounding
        gain = (noise_std * 255 * np.sqrt(12) / 256).astype(np.float32).reshape(-1, 1, 1)
        img += noise * gain
        img += 0.5 - gain * 127.5
        np.copyto(out.reshape(img.shape), np.clip(img, 0, 255, out=img), casting="unsafe")


def _cover(inside: np.ndarray) -> np.ndarray:
    """Pixel coverage (in place, in ``[0, 1]``) of a shape of signed distance ``0.5 - inside`` pixels."""
    return np.clip(inside, 0, 1, out=inside)


def _ellipse(x2: np.ndarray, y2: np.ndarray, a: np.ndarray | float, b: np.ndarray | float, rad: np.ndarray):
    """Coverage ``[B, P]`` of the ellipse of semi-axes ``a``, ``b`` (face units, ``[B]`` or scalars), given
    squared offsets ``x2``, ``y2`` ``[B, P]`` from its centre and ``rad`` pixels per face unit ``[B]``.

    The signed distance is linearised, ``(q - 1) * min(a, b) / 2``: a thin shape (a closing eye) fades to
    partial coverage instead of vanishing between pixel centres.
    """
    k = rad * np.minimum(a, b) / 2
    return _cover(_col(0.5 + k) - x2 * _col(k / np.square(a)) - y2 * _col(k / np.square(b)))


def _expression_layers(layers: _Layers, p: _Params, u: np.ndarray, v: np.ndarray) -> None:
    """Mouth, eyes, brows, nose and cheeks: the parts that move with valence and arousal."""
    val, aro, rad = p.val, p.aro, p.radius
    au = np.abs(u)
    u2 = u * u
    # mouth: a lens around a parabola whose corners rise with valence and that opens with arousal
    half_w = 0.34 + 0.06 * val
    lift = 0.22 * val
    open_ = 0.26 * aro**2
    centre_y = 0.5 + 0.5 * open_
    un2 = u2 * _col(1 / half_w**2)  # (u / half_w)^2
    taper = 1 - un2
    below = v - _col(centre_y) + _col(lift) * un2  # signed offset from the centre line
    dist = np.abs(below) * _col(rad)
    mouth = _cover(_col(0.5 + open_ * rad) * taper - dist)
    layers.add("teeth", mouth * _cover(_col(0.5 - 0.02 * rad) - below * _col(rad)))  # the upper half
    layers.add("mouth", mouth)
    layers.add("lips", _cover(_col(0.5 + (open_ + 0.06) * rad) * taper - dist))
    # eyes (mirrored): lids close towards the lower lid as arousal drops
    eye_x = 0.39 * p.aspect
    eye_h = 0.02 + 0.18 * aro
    eye_y = -0.1 + 0.5 * (0.2 - eye_h)
    ue = au - _col(eye_x)
    ve = v - _col(eye_y)
    ue2, ve2 = ue * ue, ve * ve
    sclera = _ellipse(ue2, ve2, 0.2, eye_h, rad)
    iris = _ellipse(ue2, ve2, 0.1, 0.1, rad)
    layers.add("iris", np.minimum(iris, sclera, out=iris))
    layers.add("sclera", sclera)
    layers.add("lids", _ellipse(ue2, ve2, 0.23, eye_h + 0.035, rad))  # a dark rim: a line when closed
    # brows (mirrored): raised with arousal; inner ends drop with negative valence (rise a bit if positive)
    slant = np.where(val < 0, 0.9, 0.25) * val
    brow_y = eye_y - eye_h - 0.1 - 0.16 * aro
    ub = au - _col(eye_x + 0.01)
    centre = (ub * 1.2 + _col(slant)) * ub + _col(brow_y)
    brow = _cover(_col(0.5 + 0.055 * rad) - np.abs(v - centre) * _col(rad))
    brow *= _cover(_col(0.5 + 0.23 * rad) - np.abs(ub) * _col(rad))
    layers.add("brows", brow)
    # nose: a short shadow under the tip
    layers.add("nose", _ellipse(u2, np.square(v - 0.22), 0.09, 0.05, rad))
    # cheeks (mirrored): a soft-edged blush that rises and deepens with valence
    raise_ = (val + 1) / 2
    uc = au - _col(0.46 * p.aspect)
    vc = v - _col(0.25 - 0.08 * raise_)
    blush = _cover(1.4 - (uc * uc + vc * vc) * (1 / 0.19**2))
    blush *= _col(0.65 * raise_**2)
    layers.add("blush", blush)


def _head_layers(layers: _Layers, p: _Params, u: np.ndarray, v: np.ndarray) -> None:
    """Fringe, face, neck and hair: the identity's own shapes."""
    f, rad, aspect = p.f, p.radius, p.aspect
    u2 = u * u
    face = _ellipse(u2 * (1 + 0.18 * v), v * v, aspect, 1.0, rad)  # an egg: narrower at the chin
    fringe_y = -0.98 + 0.36 * f["fringe"]
    fringe = _cover(_col(0.5 + fringe_y * rad) + (u2 * 0.6 + u * _col(0.25 * f["hair_part"]) - v) * _col(rad))
    layers.add("fringe", np.multiply(fringe, face, out=fringe))
    layers.add("face", face)
    neck = _cover(_col(0.5 + 0.36 * aspect * rad) - np.abs(u) * _col(rad))
    neck *= _cover(0.5 + v * _col(rad))
    layers.add("neck", neck)
    # hair: an ellipse behind the head, cut straight at its length
    vol = f["hair_volume"]
    top = -1.06 - 0.2 * vol
    cut = -0.05 + 1.3 * f["hair_length"]
    half_h, half_w = (cut + 0.3 - top) / 2, aspect * (1.12 + 0.22 * vol)
    hair = _ellipse(u2, np.square(v - _col(top + half_h)), half_w, half_h, rad)
    hair *= _cover(_col(0.5 + cut * rad) - v * _col(rad))
    layers.add("hair", hair)
