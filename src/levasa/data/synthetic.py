"""Circumplex faces: a procedural face set whose expression is a known function of valence and arousal.

Rendering is a batch-vectorised numpy rasteriser, not Pillow: every face part is an implicit shape
(ellipse, lens, capsule, half-plane) in the face's own rotated and scaled frame, its coverage
anti-aliased analytically from an approximate signed distance in pixels, and the parts are
composited front to back in float32 for a whole chunk of images at once. Responses to valence and
arousal are therefore continuous (not pixel-quantised), and a 64x64 face costs a fraction of a
millisecond on one core (``benchmarks/bench_synthetic.py``).

- valence v drives mouth-corner curvature and mouth width, inner-brow slant and cheek raise (blush);
- arousal a drives eye openness (drooping lids), brow height and mouth opening (jaw drop);
- identity nuisance factors (:data:`NUISANCE_NAMES`) drive everything else, and dominate the pixel
  variance: expression accounts for under a tenth of it (0.07 at 64x64; :func:`expression_variance_share`).

Labels mimic real data: a class drawn with AffectNet-like frequencies, VA uniform inside that class's
anchor ellipse, optional annotation noise; variants expose both label kinds, VA only (AFEW-like, integer
steps of 0.1) or categories only (IMFDB-like). Everything is deterministic per seed.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from levasa.annotation.anchors import Anchor, affectnet_anchor

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
"""Bumped whenever the rendering or the sampling changes, so that stale caches are not reused."""

NUISANCE_NAMES: tuple[str, ...] = (
    "skin_tone",  # 0 (dark) .. 1 (pale)
    "face_aspect",  # face width / height
    "hair_tone",  # 0 (black) .. 1 (blond)
    "hair_warmth",  # 0 (ash) .. 1 (auburn)
    "hair_length",  # 0 (short) .. 1 (below the chin)
    "hair_volume",  # 0 (flat) .. 1 (bushy)
    "fringe",  # 0 (high hairline) .. 1 (low fringe)
    "hair_part",  # fringe tilt, -1 .. 1
    "bg_red",  # background colour, 0 .. 1 per channel
    "bg_green",
    "bg_blue",
    "pos_x",  # face centre offset, fraction of the image size
    "pos_y",
    "scale",  # head size factor
    "rotation",  # in-plane rotation, radians
    "light_angle",  # direction of the lighting gradient, radians
    "light_strength",  # relative brightness change from the image centre to its edge
    "noise_std",  # pixel noise standard deviation, intensity units (0 .. 1)
)
"""Names of the columns of :attr:`SyntheticFaces.nuisance`, in order."""

VARIANTS = ("both", "va", "category")
"""Label variants: AffectNet-like (both), AFEW-like (VA only), IMFDB-like (category only)."""

_CHUNK_PIXELS = 2**17
"""Pixels rendered at once (32 images at 64x64): bounds memory and keeps the working buffers in cache."""

# Uniform sampling ranges of the identity factors, in NUISANCE_NAMES order.
_RANGES = np.array(
    [
        (0.0, 1.0),
        (0.74, 0.92),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (0.0, 1.0),
        (-1.0, 1.0),
        (0.35, 0.68),
        (0.35, 0.68),
        (0.35, 0.68),
        (-0.03, 0.03),
        (-0.02, 0.02),
        (0.93, 1.08),
        (-0.18, 0.18),
        (0.0, 2 * np.pi),
        (0.0, 0.25),
        (0.0, 0.03),
    ]
)

_SKIN_DARK, _SKIN_PALE = (0.5, 0.33, 0.24), (0.95, 0.8, 0.7)
_HAIR_DARK, _HAIR_BLOND, _HAIR_RED = (0.07, 0.05, 0.04), (0.88, 0.74, 0.46), (0.6, 0.22, 0.08)
_SCLERA, _IRIS, _LIDS, _MOUTH = (0.96, 0.95, 0.93), (0.12, 0.08, 0.06), (0.2, 0.12, 0.1), (0.28, 0.04, 0.06)
_LIP, _BLUSH, _TEETH = (0.78, 0.24, 0.28), (0.95, 0.38, 0.4), (0.94, 0.93, 0.88)


@dataclass
class SyntheticFaces:
    """A generated set. ``N`` images of ``F = len(NUISANCE_NAMES)`` nuisance factors each.

    Attributes:
        images: uint8 ``[N, H, W, 3]``.
        va: float32 ``[N, 2]`` observed (valence, arousal) in ``[-1, 1]``; NaN where the variant hides VA.
        emotion: int64 ``[N]`` observed index into ``EMOTIONS``; -1 where the variant hides it.
        subject: int64 ``[N]`` identity id.
        keys: str ``[N]`` stable ids ``id<identity>_<expression>``.
        true_va: float32 ``[N, 2]`` the VA actually rendered.
        true_emotion: int64 ``[N]`` the class the VA was drawn from.
        nuisance: float32 ``[N, F]`` the nuisance factors actually rendered.
        expression_share: share of pixel variance due to expression, NaN if not computed.
    """

    images: np.ndarray
    va: np.ndarray
    emotion: np.ndarray
    subject: np.ndarray
    keys: np.ndarray
    true_va: np.ndarray
    true_emotion: np.ndarray
    nuisance: np.ndarray
    expression_share: float = float("nan")


# ----------------------------------------------------------------------------------------------- sampling


def sample_identities(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` identities: float32 ``[n, F]`` nuisance factors, uniform in their ranges."""
    _check_positive("n", n)
    low, high = _RANGES[:, 0], _RANGES[:, 1]
    return (low + (high - low) * rng.random((n, len(NUISANCE_NAMES)))).astype(np.float32)


def sample_expressions(
    n: int, rng: np.random.Generator, anchor: Anchor | None = None, label_noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` expressions from an anchor (default: AffectNet's).

    The class is drawn with the anchor's prior, VA uniformly inside the class's one-sigma ellipse and
    clipped to ``[-1, 1]``; the observed VA adds Gaussian annotation noise of std ``label_noise``.

    Returns:
        ``va_true`` float32 ``[n, 2]``, ``va_observed`` float32 ``[n, 2]`` (both in ``[-1, 1]``) and
        ``emotion`` int64 ``[n]`` (index into ``EMOTIONS``).
    """
    _check_positive("n", n)
    if not label_noise >= 0:
        raise ValueError(f"label_noise must be >= 0, found {label_noise}")
    anchor = anchor or affectnet_anchor()
    cls = rng.choice(len(anchor.classes), size=n, p=anchor.prior)
    r, theta = np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    disc = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    va_true = np.clip(anchor.mean[cls] + anchor.std[cls] * disc, -1, 1)
    va_obs = np.clip(va_true + label_noise * rng.standard_normal((n, 2)), -1, 1)
    return va_true.astype(np.float32), va_obs.astype(np.float32), anchor.indices[cls]


# ---------------------------------------------------------------------------------------------- rendering


def render(va: np.ndarray, nuisance: np.ndarray, image_size: int = 64, seed: int = 0) -> np.ndarray:
    """Render faces with expression ``va`` (float ``[N, 2]`` in ``[-1, 1]``) and factors ``nuisance``
    (float ``[N, F]``); the pixel noise is drawn from ``seed``. Returns uint8 ``[N, S, S, 3]``."""
    va = np.asarray(va, dtype=np.float32)
    nuisance = np.asarray(nuisance, dtype=np.float32)
    _check_shape("va", va, (None, 2))
    _check_shape("nuisance", nuisance, (va.shape[0], len(NUISANCE_NAMES)))
    _check_image_size(image_size)
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


# --------------------------------------------------------------------------------------------- generation


def generate(
    n_identities: int = 200,
    expressions_per_identity: int = 24,
    image_size: int = 64,
    variant: str = "both",
    seed: int = 0,
    label_noise: float = 0.0,
) -> SyntheticFaces:
    """Generate ``n_identities`` identities, each seen with ``expressions_per_identity`` expressions.

    Identity ``i``'s images are contiguous; its nuisance factors are shared, its pixel noise is not.
    ``variant`` hides labels: ``"va"`` keeps VA only, rounded to AFEW's integer steps of 0.1 (emotion -1);
    ``"category"`` keeps the class only (VA NaN); ``"both"`` keeps both. ``expression_share`` is measured
    on separate draws at the same size (:func:`expression_variance_share`).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, found {variant!r}")
    _check_positive("n_identities", n_identities)
    _check_positive("expressions_per_identity", expressions_per_identity)
    _check_image_size(image_size)
    id_seed, expr_seed, noise_seed = np.random.SeedSequence(seed).spawn(3)
    identities = sample_identities(n_identities, np.random.default_rng(id_seed))
    n = n_identities * expressions_per_identity
    true_va, va, emotion = sample_expressions(n, np.random.default_rng(expr_seed), label_noise=label_noise)
    subject = np.repeat(np.arange(n_identities, dtype=np.int64), expressions_per_identity)
    expr_index = np.tile(np.arange(expressions_per_identity), n_identities)
    nuisance = identities[subject]
    images = render(true_va, nuisance, image_size, seed=int(noise_seed.generate_state(1)[0]))
    true_emotion = emotion.copy()
    if variant == "va":
        va, emotion = np.round(va * 10) / 10, np.full(n, -1, dtype=np.int64)
    elif variant == "category":
        va = np.full((n, 2), np.nan, dtype=np.float32)
    keys = np.array([f"id{s:04d}_{e:03d}" for s, e in zip(subject, expr_index, strict=True)])
    share = expression_variance_share(image_size=image_size, seed=seed)
    return SyntheticFaces(
        images=images,
        va=va.astype(np.float32),
        emotion=emotion,
        subject=subject,
        keys=keys,
        true_va=true_va,
        true_emotion=true_emotion,
        nuisance=nuisance,
        expression_share=share,
    )


def _source_digest() -> str:
    """Digest of this module's source: a cache rendered by other code is never reused, even when
    ``GENERATOR_VERSION`` was not bumped."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def load_or_generate(cache_dir: str | Path | None, **generate_kwargs) -> SyntheticFaces:
    """:func:`generate`, cached as ``.npz`` in ``cache_dir`` (None: no cache), keyed by the parameters."""
    bound = inspect.signature(generate).bind(**generate_kwargs)
    bound.apply_defaults()
    if cache_dir is None:
        return generate(**bound.arguments)
    key = json.dumps(
        {**bound.arguments, "version": GENERATOR_VERSION, "source": _source_digest()}, sort_keys=True, default=str
    )
    path = Path(cache_dir) / f"synthetic_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {f.name: z[f.name] for f in fields(SyntheticFaces)}
            return SyntheticFaces(**{**arrays, "expression_share": float(arrays["expression_share"])})
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            log.warning("synthetic cache %s is unreadable (%s); regenerating it", path, err)
    faces = generate(**bound.arguments)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False) as tmp:
        try:
            np.savez(tmp, **{f.name: getattr(faces, f.name) for f in fields(SyntheticFaces)})
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
    return faces


# ----------------------------------------------------------------------------------------- ground truth


def bayes_emotion(va: np.ndarray, anchor: Anchor | None = None) -> np.ndarray:
    """The Bayes-optimal class of true VA ``[n, 2]`` under this generator: int64 ``[n]`` into ``EMOTIONS``.

    Posterior ∝ prior x density of the class's clipped uniform ellipse: ``1[inside] / area`` inside the
    box, the clipped chord per unit length on an edge, the clipped mass at a corner.
    """
    anchor = anchor or affectnet_anchor()
    va = np.asarray(va, dtype=np.float64)
    _check_shape("va", va, (None, 2))
    return anchor.indices[np.argmax(anchor.prior * _class_density(va, anchor), axis=1)]


def _class_density(va: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Density of each class's clipped VA at ``va`` ``[n, 2]`` w.r.t. the point's stratum: ``[n, K]``."""
    mean, std = anchor.mean[None], anchor.std[None]  # [1, K, 2]
    area = np.pi * std[..., 0] * std[..., 1]
    z = (va[:, None, :] - mean) / std
    edge = np.abs(va) >= 1
    dens = ((z**2).sum(-1) <= 1) / area
    for j in (0, 1):  # on the edge of axis j: the mass clipped onto it per unit length of the other axis
        on = edge[:, j] & ~edge[:, 1 - j]
        half = std[..., j] * np.sqrt(np.clip(1 - z[on, :, 1 - j] ** 2, 0, None))
        dens[on] = np.clip(np.sign(va[on, j])[:, None] * mean[..., j] + half - 1, 0, 2 * half) / area
    for corner in np.unique(np.sign(va[edge.all(1)]), axis=0):
        dens[(np.sign(va) == corner).all(1) & edge.all(1)] = _corner_mass(anchor, corner)
    return dens


def _corner_mass(anchor: Anchor, corner: np.ndarray, steps: int = 4096) -> np.ndarray:
    """Share of each class's ellipse beyond both edges of ``corner`` (signs ``[2]``): ``[K]``."""
    t = (np.arange(steps) + 0.5) / steps * 2 - 1  # arousal across the ellipse, in std units
    flipped = anchor.mean * corner
    half = anchor.std[:, :1] * np.sqrt(1 - t**2)
    beyond = np.clip(flipped[:, :1] + half - 1, 0, 2 * half) * (flipped[:, 1:] + anchor.std[:, 1:] * t >= 1)
    return beyond.sum(1) * (2 / steps) / (np.pi * anchor.std[:, 0])


def oracle_accuracy(anchor: Anchor | None = None, n: int = 200_000, seed: int = 0) -> float:
    """Best accuracy achievable from the true VA: the Bayes rule's accuracy on ``n`` Monte Carlo draws."""
    anchor = anchor or affectnet_anchor()
    va, _, emotion = sample_expressions(n, np.random.default_rng(seed), anchor)
    return float(np.mean(bayes_emotion(va, anchor) == emotion))


def expression_variance_share(
    n_identities: int = 64, expressions_per_identity: int = 16, image_size: int = 64, seed: int = 0
) -> float:
    """Share of pixel variance due to expression: the mean within-identity pixel variance (expression
    varying, nuisance fixed, no pixel noise) over the total pixel variance of all the images."""
    _check_positive("n_identities", n_identities)
    _check_positive("expressions_per_identity", expressions_per_identity)
    rng = np.random.default_rng(seed)
    nuisance = np.repeat(sample_identities(n_identities, rng), expressions_per_identity, axis=0)
    nuisance[:, NUISANCE_NAMES.index("noise_std")] = 0
    va = sample_expressions(len(nuisance), rng)[0]
    images = render(va, nuisance, image_size).reshape(n_identities, expressions_per_identity, -1)
    images = images.astype(np.float32)
    within = images.var(axis=1, dtype=np.float64).mean()
    total = images.reshape(len(nuisance), -1).var(axis=0, dtype=np.float64).mean()
    return float(within / total)


# ------------------------------------------------------------------------------------------------ figures


def va_grid_figure(path: str | Path, image_size: int = 64, steps: int = 9, seed: int = 0) -> None:
    """Write a PNG: one identity's faces over the VA plane (valence left to right, arousal bottom to top),
    and beside it several identities at each class's anchor centre. Pixel noise is off, for legibility."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _check_image_size(image_size)
    _check_positive("steps", steps)
    rng = np.random.default_rng(seed)
    anchor, n_ids = affectnet_anchor(), 6
    identity, others = sample_identities(1, rng), sample_identities(n_ids, rng)
    upright = [NUISANCE_NAMES.index(name) for name in ("pos_x", "pos_y", "rotation", "noise_std", "scale")]
    identity[:, upright] = (0, 0, 0, 0, _RANGES[NUISANCE_NAMES.index("scale"), 1])
    others[:, NUISANCE_NAMES.index("noise_std")] = 0
    levels = np.linspace(-1, 1, steps, dtype=np.float32)
    va = np.stack(np.meshgrid(levels, levels[::-1]), axis=-1).reshape(-1, 2)
    grid = _mosaic(render(va, np.repeat(identity, len(va), axis=0), image_size), steps, steps)
    centres = np.repeat(anchor.mean, n_ids, axis=0).astype(np.float32)
    faces = render(centres, np.tile(others, (len(anchor.classes), 1)), image_size)
    faces = _mosaic(faces, len(anchor.classes), n_ids)

    fig, (ax_grid, ax_ids) = plt.subplots(1, 2, figsize=(16, 7.8), width_ratios=(1.05, 1))
    half = 1 / max(steps - 1, 1)
    ax_grid.imshow(grid, extent=(-1 - half, 1 + half, -1 - half, 1 + half))
    ax_grid.set(xlabel="valence", ylabel="arousal", title="one identity over the valence-arousal plane")
    ax_ids.imshow(faces)
    ax_ids.set_yticks((np.arange(len(anchor.classes)) + 0.5) * image_size, anchor.classes)
    ax_ids.set_xticks((np.arange(n_ids) + 0.5) * image_size, [f"id {i}" for i in range(n_ids)])
    ax_ids.set_title("identities (columns) at each class's anchor centre (rows)")
    fig.suptitle(f"levasa circumplex faces ({image_size}x{image_size}, pixel noise off)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mosaic(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Tile ``rows * cols`` images ``[N, S, S, 3]`` row by row into one ``[rows * S, cols * S, 3]``."""
    s = images.shape[1]
    return images.reshape(rows, cols, s, s, 3).transpose(0, 2, 1, 3, 4).reshape(rows * s, cols * s, 3)


# ------------------------------------------------------------------------------------------------- checks


def _check_positive(name: str, value: int) -> None:
    if not (isinstance(value, int | np.integer) and value >= 1):
        raise ValueError(f"{name} must be an integer >= 1, found {value!r}")


def _check_image_size(image_size: int) -> None:
    if not (isinstance(image_size, int | np.integer) and image_size >= 16):
        raise ValueError(f"image_size must be an integer >= 16, found {image_size!r}")


def _check_shape(name: str, array: np.ndarray, shape: tuple[int | None, ...]) -> None:
    if array.ndim != len(shape) or any(e not in (None, d) for e, d in zip(shape, array.shape, strict=True)):
        expected = "[" + ", ".join("N" if e is None else str(e) for e in shape) + "]"
        raise ValueError(f"{name} must have shape {expected}, found {list(array.shape)}")


# ---------------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> None:
    """``grid --out PATH`` writes the VA grid figure; ``stats`` prints expression share, oracle accuracy."""
    parser = argparse.ArgumentParser(prog="python -m levasa.data.synthetic", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grid = commands.add_parser("grid", help="write the VA grid figure (PNG)")
    grid.add_argument("--out", default="docs/synthetic_faces.png")
    grid.add_argument("--size", type=int, default=64)
    grid.add_argument("--steps", type=int, default=9)
    grid.add_argument("--seed", type=int, default=0)
    stats = commands.add_parser("stats", help="print expression share and oracle accuracy")
    stats.add_argument("--size", type=int, default=64)
    stats.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "grid":
        va_grid_figure(args.out, args.size, args.steps, args.seed)
        print(f"wrote {args.out}")
    else:
        anchor = affectnet_anchor()
        share = expression_variance_share(image_size=args.size, seed=args.seed)
        print(f"expression share of pixel variance ({args.size}x{args.size}): {share:.3f}")
        print(f"oracle 7-class accuracy from true VA: {oracle_accuracy(anchor, seed=args.seed):.4f}")
        print(f"majority-class prior: {anchor.prior.max():.4f}")


if __name__ == "__main__":
    main()
