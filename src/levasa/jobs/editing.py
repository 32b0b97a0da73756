"""``edit(cfg)``: expression editing with a trained LeVAsa. Each face's aligned chunks are moved until the model's
VA readout says the asked valence-arousal point (the evaluation's edit test, :mod:`levasa.evaluation.edits`), its
identity chunk z_z kept, and decoded; PNGs, contact sheets for walks and a CSV of asked and read VA."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig
from PIL import Image, ImageDraw
from torch import Tensor

from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.labels import SYNONYMS
from levasa.data.detect import FaceDetector
from levasa.data.images import list_images
from levasa.evaluation.edits import hit_readout, label_directions
from levasa.evaluation.encode import encode_dataset, subsample_rows
from levasa.evaluation.sections.base import best_va
from levasa.io import write_atomic, write_csv_atomic
from levasa.jobs.prediction import detect_faces, read_faces
from levasa.jobs.runconfig import run_config
from levasa.models.checkpoint import module_from_checkpoint, read_checkpoint, stored_config, trusted_config
from levasa.models.module import LatentVAModule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What was asked: the VA targets ``[T, 2]``, the emotion named (or None), and the walk (or None)."""

    targets: np.ndarray
    emotion: str | None = None
    walk: str | None = None


def edit_request(cfg: DictConfig) -> Request:
    """The targets that ``cfg`` asks for (exactly one of ``target``, ``walk``, ``emotion``), checked; a ValueError
    names what is wrong."""
    given = [key for key in ("target", "walk", "emotion") if cfg.get(key) is not None]
    if len(given) != 1:
        shown = " and ".join(given) if given else "none"
        raise ValueError(f"give exactly one of target=[V,A], walk=circle|grid or emotion=NAME; found {shown}")
    if cfg.target is not None:
        return Request(check_targets(parse_target(cfg.target)[None]))
    if cfg.emotion is not None:
        name, centre = emotion_centre(str(cfg.emotion), str(cfg.anchor))
        return Request(check_targets(centre[None]), emotion=name)
    radius = float(cfg.radius)
    if not 0 < radius <= 1:
        raise ValueError(f"radius must be in (0, 1], found {cfg.radius}")
    if cfg.walk == "circle":
        return Request(circle_targets(_at_least_two("steps", cfg.steps), radius), walk="circle")
    if cfg.walk == "grid":
        return Request(grid_targets(_at_least_two("grid", cfg.grid), radius), walk="grid")
    raise ValueError(f"walk must be 'circle' or 'grid', found {cfg.walk!r}")


def parse_target(target: Any) -> np.ndarray:
    """``[valence, arousal]`` from the command line as float ``[2]``."""
    if not isinstance(target, list | tuple | ListConfig) or len(target) != 2:
        raise ValueError(f"target must be [valence, arousal], e.g. target=[0.5,-0.2], found {target!r}")
    try:
        return np.array([float(x) for x in target], dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"target must be two numbers [valence, arousal], found {list(target)!r}") from None


def check_targets(targets: np.ndarray) -> np.ndarray:
    """``targets`` ``[T, 2]``, raising a ValueError naming the first value that is not finite or outside [-1, 1]."""
    bad = ~np.isfinite(targets) | (np.abs(targets) > 1)
    if bad.any():
        row, axis = np.argwhere(bad)[0]
        raise ValueError(f"{('valence', 'arousal')[axis]} {float(targets[row, axis])} is outside [-1, 1]")
    return targets.astype(np.float32)


def _at_least_two(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValueError(f"{key} must be an integer of at least 2, found {value!r}")
    return value


def circle_targets(steps: int, radius: float) -> np.ndarray:
    """``steps`` points ``[steps, 2]`` round the circumplex at ``radius``, from pleasant (valence ``radius``,
    arousal 0) anticlockwise."""
    angles = 2 * np.pi * np.arange(steps) / steps
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_targets(n: int, radius: float) -> np.ndarray:
    """``n * n`` points ``[n * n, 2]`` on a grid over ``[-radius, radius]^2``, valence varying fastest, arousal
    growing."""
    valence, arousal = np.meshgrid(np.linspace(-radius, radius, n), np.linspace(-radius, radius, n))
    return np.stack([valence.ravel(), arousal.ravel()], axis=1).astype(np.float32)


def emotion_centre(name: str, anchor_name: str) -> tuple[str, np.ndarray]:
    """The canonical class of ``name`` (any case, or a synonym) and its anchor ellipse's centre ``[2]``."""
    anchor = resolve_anchor(anchor_name)
    canonical = SYNONYMS.get(name.strip().lower())
    if canonical is not None and canonical not in anchor.classes:
        raise ValueError(f"the {anchor_name} anchor has no {canonical} class: it knows {list(anchor.classes)}")
    if canonical is None:
        synonyms = sorted(k for k, v in SYNONYMS.items() if v in anchor.classes and k != v.lower())
        raise ValueError(
            f"unknown emotion {name!r}: the {anchor_name} anchor knows {list(anchor.classes)} (any case) and the "
            f"synonyms {synonyms}"
        )
    return canonical, np.asarray(anchor.mean[anchor.classes.index(canonical)], dtype=np.float32)


def data_directions(checkpoint: Any, module: LatentVAModule, cfg: DictConfig) -> tuple[Tensor, Tensor]:
    """How z_v and z_a move with their labels on (a seeded subsample of) the run's training split."""
    run_cfg = run_config(trusted_config(checkpoint, list(cfg.get("trusted_targets") or [])))
    datamodule = instantiate(run_cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    train = datamodule.datasets["train"]
    if len(train) == 0:
        raise ValueError(f"the train split of {run_cfg.data._target_} is empty: use directions=readout")
    latents = encode_dataset(module, train, rows=subsample_rows(len(train), int(cfg.max_train), int(cfg.seed)))
    return label_directions(latents.chunks, best_va(latents))


@torch.no_grad()
def edit_faces(
    module: LatentVAModule, faces: np.ndarray, targets: np.ndarray, directions: tuple[Tensor, Tensor] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each face ``[N, S, S, 3]`` (uint8) edited to each target ``[T, 2]``: the edits uint8 ``[N, T, S, S, 3]``,
    the readout of each face ``[N, 2]`` and of each edit re-encoded ``[N, T, 2]``. z_z is the face's own."""
    module.eval()
    images = torch.tensor(faces).permute(0, 3, 1, 2).float().div(255.0)
    edits, original, readouts = [], [], []
    goal = torch.from_numpy(targets)
    for image in images:
        enc = module.encode(image[None])
        original.append(module.readout(enc)[0].numpy())
        z_v, z_a = (getattr(enc, c).mu.expand(len(targets), -1) for c in "va")
        z_v, z_a = hit_readout(module.alignment.readout, z_v, z_a, goal, directions)
        decoded = module.decode(torch.cat([z_v, z_a, enc.z.mu.expand(len(targets), -1)], dim=1))
        readouts.append(module.readout(module.encode(decoded)).numpy())
        edits.append((decoded.permute(0, 2, 3, 1).clamp(0, 1) * 255).round().to(torch.uint8).numpy())
    return np.stack(edits), np.stack(original), np.stack(readouts)


def contact_sheet(face: np.ndarray, edits: np.ndarray, targets: np.ndarray, walk: str, cell: int) -> Image.Image:
    """The face on the first row, then its edits ``[T, S, S, 3]`` each labelled with its target: one row round the
    circle, or the grid with high arousal on top."""
    columns = len(edits) if walk == "circle" else math.isqrt(len(edits))
    order = np.arange(len(edits))
    if walk == "grid":  # steps run valence fastest, arousal growing: show high arousal on top
        order = order.reshape(columns, columns)[::-1].ravel()
    label_h = 14
    rows = 1 + math.ceil(len(edits) / columns)
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label_h)), "white")
    draw = ImageDraw.Draw(sheet)

    def put(image: np.ndarray, label: str, row: int, col: int) -> None:
        x, y = col * cell, row * (cell + label_h)
        sheet.paste(Image.fromarray(image).resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        draw.text((x + 2, y + cell + 1), label, fill=(0, 0, 0))

    put(face, "original", 0, 0)
    for k, step in enumerate(order):
        v, a = targets[step]
        put(edits[step], f"{step}: V{v:+.2f} A{a:+.2f}", 1 + k // columns, k % columns)
    return sheet


def edit(cfg: DictConfig) -> Path:
    """Edit every face of ``cfg.input`` (a folder, any depth, or one image) to the asked VA; returns the CSV path.

    ``faces=detect`` (the default) finds and crops the faces of each photo as ``predict`` does, each edited
    separately; ``faces=cropped`` reads each image as one ready-cropped face. Files are written in the run
    directory: ``<name>_face<k>_<step>.png`` (subfolders of the input kept), ``<name>_face<k>_sheet.png`` for
    walks, and ``edits.csv``."""
    if cfg.faces not in ("detect", "cropped"):
        raise ValueError(f"faces must be 'detect' (find the faces in photos) or 'cropped', found {cfg.faces!r}")
    if cfg.directions not in ("data", "readout"):
        raise ValueError(f"directions must be 'data' or 'readout', found {cfg.directions!r}")
    request = edit_request(cfg)
    checkpoint = read_checkpoint(cfg.ckpt)
    module = module_from_checkpoint(checkpoint, list(cfg.get("trusted_targets") or []))
    if not module.has_readout:
        raise ValueError(f"{cfg.ckpt} is a Vanilla VAE: its chunks are not aligned with valence and arousal, so it "
                         "cannot be edited to a VA target; train a LeVAsa (model=levasa)")  # fmt: skip
    data = stored_config(checkpoint)["data"]
    size = int(data["image_size"])
    root = Path(cfg.input)
    files = [root] if root.is_file() else list_images(root)
    base = root.parent if root.is_file() else root
    sources: list[tuple[str, int]] = []  # (input path, face index) per face
    if cfg.faces == "cropped":
        files, faces = read_faces(files, size, cfg.skip_bad)
        sources = [(f.relative_to(base).as_posix(), 0) for f in files]
    else:
        box_scale = float(cfg.box_scale if cfg.box_scale is not None else data.get("box_scale", 1.0))
        found = detect_faces(files, FaceDetector(**cfg.detector), size, box_scale, cfg.skip_bad, keep=False)
        crops = []
        for path, photo in found:
            sources += [(path.relative_to(base).as_posix(), k) for k in range(len(photo.crops))]
            crops += photo.crops
        empty = [path for path, photo in found if not photo.crops]
        if empty:
            log.warning("no face found in %d of %d photos (first: %s)", len(empty), len(found), empty[0])
        if not crops:
            raise ValueError(f"no face found in the {len(found)} photos of {cfg.input}; faces=cropped reads each "
                             "image as one ready-cropped face")  # fmt: skip
        faces = np.stack(crops)
    directions = data_directions(checkpoint, module, cfg) if cfg.directions == "data" else None
    edits, original, readouts = edit_faces(module, faces, request.targets, directions)
    out = Path(cfg.paths.output_dir)
    rows = []
    for (source, k), face, face_edits, before, after in zip(sources, faces, edits, original, readouts, strict=True):
        stem = (Path(source).parent / f"{Path(source).stem}_face{k}").as_posix()
        for step, (image, (tv, ta), (rv, ra)) in enumerate(zip(face_edits, request.targets, after, strict=True)):
            name = f"{stem}_{step}.png"
            save_png(out / name, image)
            rows.append({"path": source, "face": k, "step": step, "image": name,
                         "target_v": round(float(tv), 4), "target_a": round(float(ta), 4),
                         "emotion": request.emotion or "", "original_v": round(float(before[0]), 4),
                         "original_a": round(float(before[1]), 4), "readout_v": round(float(rv), 4),
                         "readout_a": round(float(ra), 4)})  # fmt: skip
        if request.walk is not None:
            sheet = contact_sheet(face, face_edits, request.targets, request.walk, int(cfg.sheet_cell))
            save_png(out / f"{stem}_sheet.png", sheet)
    output = out / "edits.csv"
    write_csv_atomic(output, rows)
    print(f"Edits of {len(sources)} faces to {len(request.targets)} VA targets each: {output}")
    return output


def save_png(path: Path, image: np.ndarray | Image.Image) -> None:
    """``image`` as a PNG at ``path`` (its folder made)."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: picture.save(f, format="PNG"), binary=True)
