"""Rebuild a trained module from its checkpoint alone (the run's config travels inside it).

A checkpoint named on the command line (``evaluate.py ckpt=``, ``predict.py ckpt=``, ``train.py ckpt_path=``) is
untrusted input, and nothing in it may run code:

- it is read with ``torch.load(weights_only=True)``: tensors and plain values only, so a pickle that asks for
  anything else (a function to call on load) is refused before any of it runs (:func:`read_checkpoint`);
- its stored config is built (Hydra ``instantiate``) only when every ``_target_`` in it, at any depth, names a class
  or a public function of :data:`ALLOWED_MODULES` or one of :data:`ALLOWED_NAMES` (plus a caller's
  ``trusted_targets``), and it holds no interpolation (:func:`trusted_config`);
- its weights must be finite (:func:`check_finite`): a diverged run's NaN weights would predict NaN for every face.

An unreadable file (missing, a directory, empty, truncated, not a checkpoint) is a :class:`CheckpointError` (or
``FileNotFoundError``) naming the file and what is wrong with it.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import pickle
import pickletools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.errors import InputError
from levasa.models.module import LatentVAModule

RESUME_KEYS = ("model._target_", "model.encoder", "model.decoder", "model.alignment", "data.image_size")
"""What a resumed run must share with its checkpoint: the networks, the alignment and the face size."""

ALLOWED_MODULES = (
    "levasa.callbacks",
    "levasa.data.datamodule",
    "levasa.data.fill",
    "levasa.data.readers",
    "levasa.data.realdata",
    "levasa.evaluation.sections",
    "levasa.loggers",
    "levasa.losses",
    "levasa.models.module",
    "levasa.models.networks",
    "levasa.models.schedules",
    "torch.optim",
    "lightning.pytorch.callbacks",
    "lightning.pytorch.loggers",
)
"""Modules (and their submodules) whose classes and public functions a stored config may name: those the package's
config groups draw from (``src/levasa/conf``; the test ``test_every_target_the_package_configs_name_is_allowed``
keeps the two in step), torch's optimisers and schedulers (``torch.optim.lr_scheduler``), Lightning's callbacks and
loggers. Not levasa as a whole: ``levasa.io`` and the jobs write files wherever they are told."""

ALLOWED_NAMES = ("lightning.pytorch.Trainer", "datetime.timedelta")
"""Single objects a stored config may name besides :data:`ALLOWED_MODULES`."""


class CheckpointError(InputError):
    """A checkpoint that cannot be read, or must not be built; the message names the file and what is wrong."""


class Checkpoint(dict[str, Any]):
    """A checkpoint's contents, as ``torch.load`` returns them, ``path``, the file they were read from, and
    ``sha256``, the hex digest of the bytes they were read from (what results computed from it record)."""

    def __init__(self, contents: dict[str, Any], path: str | Path, sha256: str | None = None) -> None:
        super().__init__(contents)
        self.path = Path(path)
        self.sha256 = sha256 if sha256 is not None else file_sha256(path)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_resumable(path: str | Path, config: dict[str, Any]) -> None:
    """Raise a clear error when the checkpoint ``path`` was trained with another model or face size than the
    resolved run ``config``, naming the file and the first differing keys (Lightning would stop on missing or
    mis-shaped weights without saying which file or setting). Reading it first also refuses, naming the file, one
    that is unreadable or would run code, before Lightning loads it."""
    differences = checkpoint_differences(path, config, RESUME_KEYS)
    if differences:
        shown = "; ".join(differences[:4]) + ("; ..." if len(differences) > 4 else "")
        raise ValueError(
            f"ckpt_path={path} was trained with another model or configuration ({shown}). Resume with the "
            "settings it was trained with, or start afresh (ckpt_path=null)."
        )


def checkpoint_differences(path: str | Path, config: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """``"<key>: checkpoint <value>, this run <value>"`` for every setting under ``keys`` in which the config stored
    in the checkpoint ``path`` differs from the resolved run ``config``; empty when they agree."""
    stored = OmegaConf.create(stored_config(read_checkpoint(path)))
    wanted = OmegaConf.create(config)
    return [
        f"{key}{sub}: checkpoint {a!r}, this run {b!r}"
        for key in keys
        for sub, a, b in _differences(OmegaConf.select(stored, key, default=None),
                                      OmegaConf.select(wanted, key, default=None))
    ]  # fmt: skip


def _differences(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted suffix, a's value, b's value) wherever the two configs differ."""
    a = OmegaConf.to_container(a, resolve=True) if OmegaConf.is_config(a) else a
    b = OmegaConf.to_container(b, resolve=True) if OmegaConf.is_config(b) else b
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{prefix}.{k}")]
    return [] if a == b else [(prefix, a, b)]


# ------------------------------------------------------------------------------------------------------- reading


def read_checkpoint(path: str | Path) -> Checkpoint:
    """The checkpoint's contents, read with ``torch.load(weights_only=True)``.

    Raises ``FileNotFoundError`` when there is no such file, and :class:`CheckpointError` naming the file when it is
    a directory, empty, truncated or not a checkpoint, when its pickle asks for anything but tensors and plain
    values (nothing of it runs), or when it holds no levasa run config.
    """
    path = Path(path)
    if path.is_dir():
        inside = [p for p in (path / "checkpoints" / "best.ckpt", path / "best.ckpt") if p.is_file()]
        hint = f"; did you mean {inside[0]}?" if inside else ""
        raise CheckpointError(f"checkpoint {path} is a directory, not a checkpoint file{hint}")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): a copy or save that did not finish?")
    data = path.read_bytes()  # read once: the contents and their digest come from the same bytes
    try:
        ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # whatever torch raises on a damaged or refused file: named, with torch's own words
        refused = _refused_globals(path, err)
        if refused is not None:
            raise CheckpointError(
                f"{path}: refused to load: its pickle asks for {refused}, which weights-only loading does not allow "
                "(a checkpoint levasa writes holds only tensors and plain values; this one may have been crafted to "
                "run code). Nothing of it was run."
            ) from None
        raise CheckpointError(f"checkpoint {path} {_unreadable(path, size, err)}") from None
    if not isinstance(ckpt, dict) or "config" not in (ckpt.get("hyper_parameters") or {}):
        raise CheckpointError(f"{path} is not a levasa checkpoint: it carries no run config")
    return Checkpoint(ckpt, path, hashlib.sha256(data).hexdigest())


def _unreadable(path: Path, size: int, err: Exception) -> str:
    """What is wrong with a file ``torch.load`` failed on, for :func:`read_checkpoint`'s message."""
    with path.open("rb") as handle:
        head = handle.read(8)
    said = f"torch: {type(err).__name__}: {_first_sentence(str(err))}"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):  # torch's zip format, or its legacy pickle
        return (
            f"is truncated or corrupt ({size} bytes; {said}). Copy it again, or use another checkpoint of the run "
            "(checkpoints/last.ckpt)."
        )
    return f"is not a PyTorch checkpoint file (it starts with {head!r}; {said})"


def _first_sentence(text: str, limit: int = 160) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = first.split(". ")[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _refused_globals(path: Path, err: Exception) -> str | None:
    """What a pickle refused by weights-only loading asks for (read without running any of it); None when ``err``
    is not such a refusal but a damaged or foreign file."""
    if not (isinstance(err, pickle.UnpicklingError) and "Weights only load failed" in str(err)):
        return None
    try:
        asked = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # a bare pickle (not torch's zip format): its opcodes name what it would import
        asked = _pickle_globals(path.read_bytes())
    if asked:
        return ", ".join(asked)
    found = re.search(r"Unsupported global: (.+?)(?: was not an allowed global|\.|$)", str(err), re.MULTILINE)
    return found.group(1).strip() if found else None


def _pickle_globals(data: bytes) -> list[str]:
    """The ``module.name`` globals a pickle names (what unpickling it would import and may call), from its opcodes
    alone, which runs nothing (best effort: a ``STACK_GLOBAL`` takes the two values pushed last, memo included)."""
    names: list[str] = []
    pushed: list[Any] = []  # the values pushed last (strings, or None for anything else)
    memo: dict[int, Any] = {}
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
            if opcode.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(pushed) >= 2 and all(isinstance(v, str) for v in pushed[-2:]):
                names.append(f"{pushed[-2]}.{pushed[-1]}")
            if opcode.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if opcode.name == "MEMOIZE" else int(arg)] = pushed[-1] if pushed else None
            elif opcode.name in ("GET", "BINGET", "LONG_BINGET"):
                pushed = [*pushed[-1:], memo.get(int(arg))]
            elif opcode.stack_after:
                pushed = [*pushed[-1:], arg if isinstance(arg, str) else None]
    except Exception:  # a damaged pickle: what was read so far
        pass
    return list(dict.fromkeys(names))


def stored_config(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The resolved run config a checkpoint read by :func:`read_checkpoint` carries (unchecked: see
    :func:`trusted_config` before building anything from it)."""
    return ckpt["hyper_parameters"]["config"]


# ------------------------------------------------------------------------------------------------------ building


def refused_target(target: object, trusted: Sequence[str] = ()) -> str | None:
    """Why the ``_target_`` value ``target`` may not be built from a stored config; None when it may.

    Allowed: a name of :data:`ALLOWED_NAMES`, or ``<module>.<name>`` where ``<module>`` is (under) one of
    :data:`ALLOWED_MODULES` or ``trusted`` and ``<name>`` is a public class or function defined there (not one
    imported from elsewhere, not a method, not an attribute of an attribute such as ``levasa.losses.alignment.torch
    .load``). The module is imported to tell, which runs only the code of an allowed module.
    """
    if not isinstance(target, str):
        return f"{target!r} is not a dotted name"
    if target in ALLOWED_NAMES:
        return None
    modules = (*ALLOWED_MODULES, *trusted)
    if not _under(target, modules):
        return f"{target} is outside the allowed modules"
    module_name, _, name = target.rpartition(".")
    if not name.isidentifier() or name.startswith("_"):
        return f"{target} does not name a public attribute"
    try:
        module = importlib.import_module(module_name)
    except Exception:  # not a module: an attribute path through one, or a typo
        return f"{target}: {module_name} is not a module"
    found = getattr(module, name, None)
    if not (inspect.isclass(found) or inspect.isfunction(found)):
        return f"{target} is not a class or a function"
    defined = f"{found.__module__}.{found.__qualname__}"
    if found.__qualname__ != name or not _under(found.__module__, modules, inside=False):
        return f"{target} is {defined}, defined outside the allowed modules"
    return None


def _under(name: str, prefixes: Sequence[str], inside: bool = True) -> bool:
    """Whether the dotted ``name`` lies inside one of ``prefixes`` (``inside``: strictly, as a module's member), or
    is one of them."""
    return any((name == p and not inside) or name.startswith(f"{p}.") for p in prefixes)


def _walk(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, node) for ``node`` and everything inside it (dicts and lists, at any depth)."""
    yield key, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list | tuple) else ()
    for sub, value in items:
        yield from _walk(value, f"{key}[{sub}]" if isinstance(node, list | tuple) else f"{key}.{sub}".lstrip("."))


def config_problems(config: Any, trusted: Sequence[str] = ()) -> list[str]:
    """Every reason not to build the stored ``config``: a refused ``_target_`` (:func:`refused_target`) anywhere in
    it, including inside lists and ``_partial_`` nodes, or an interpolation (``${...}``: a stored config is saved
    resolved, and a resolver such as ``oc.create`` would hide a ``_target_`` from this check)."""
    problems = []
    for key, node in _walk(config, ""):
        if isinstance(node, dict) and "_target_" in node:
            reason = refused_target(node["_target_"], trusted)
            if reason is not None:
                problems.append(f"{key or '<root>'}._target_: {reason}")
        elif isinstance(node, str) and "${" in node:
            shown = node if len(node) <= 60 else node[:57] + "..."
            problems.append(f"{key}: an interpolation {shown!r}")
    return problems


def trusted_config(ckpt: dict[str, Any], trusted_targets: Sequence[str] = ()) -> dict[str, Any]:
    """The config stored in ``ckpt`` (read by :func:`read_checkpoint`), once checked to be safe to build: raises
    :class:`CheckpointError` naming the file and every refused target (:func:`config_problems`) otherwise.

    ``trusted_targets``: extra modules whose classes and functions may be named (a run trained with one's own
    callbacks or networks); trust only checkpoints one made.
    """
    path = getattr(ckpt, "path", "checkpoint")
    config = stored_config(ckpt)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{path} is not a levasa checkpoint: its stored config has no model node")
    problems = config_problems(config, trusted_targets)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise CheckpointError(
            f"{path}: refused to build its stored config: {shown}. A checkpoint's config may name only classes and "
            "functions of levasa's config modules, torch.optim, Lightning's Trainer, callbacks and loggers and "
            "datetime.timedelta (levasa.models.checkpoint.ALLOWED_MODULES); if you trust this checkpoint and the "
            "code it names, add those modules with trusted_targets=[...]. Nothing was built."
        )
    return config


def check_finite(ckpt: dict[str, Any]) -> None:
    """Raise :class:`CheckpointError` naming the file and the tensors when any weight of ``ckpt`` is NaN or inf."""
    path = getattr(ckpt, "path", "checkpoint")
    state = ckpt.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a levasa checkpoint: it carries no weights (state_dict)")
    bad = [
        name
        for name, value in state.items()
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if bad:
        shown = ", ".join(bad[:4]) + (f" and {len(bad) - 4} more" if len(bad) > 4 else "")
        raise CheckpointError(
            f"{path}: weights are not finite (NaN or inf) in {len(bad)} of {len(state)} tensors: {shown}. The run "
            "diverged before this checkpoint was saved; use an earlier checkpoint of it, or train again."
        )


def module_from_checkpoint(ckpt: dict[str, Any], trusted_targets: Sequence[str] = ()) -> LatentVAModule:
    """The module of a checkpoint already read by :func:`read_checkpoint`, rebuilt from the config stored in it
    (checked by :func:`trusted_config`), finite weights loaded (:func:`check_finite`), in eval mode."""
    config = trusted_config(ckpt, trusted_targets)
    check_finite(ckpt)
    module = instantiate(OmegaConf.create(config["model"]))
    module.load_state_dict(ckpt["state_dict"])
    module.save_hyperparameters({"config": config})
    return module.eval()


def load_module(path: str | Path, trusted_targets: Sequence[str] = ()) -> LatentVAModule:
    """The module of the checkpoint file ``path`` (see :func:`module_from_checkpoint`)."""
    return module_from_checkpoint(read_checkpoint(path), trusted_targets)
