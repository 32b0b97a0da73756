"""A trained run's config as stored in its checkpoint, with command-line overrides applied through Hydra.

``evaluate.py ckpt=... data=imfdb data.root=... split=val`` mixes two kinds of override: those of evaluate's own
config (``split``, ``probes.*``, ``hydra.*``: the top-level keys of the composed ``evaluate.yaml``) and those of
the trained run's config (``data=imfdb``, ``data.root=...``), which evaluate.yaml does not hold. Both are parsed
by Hydra's override grammar; group options are composed by Hydra from the package's config tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict

from levasa.config import compose_config, group_options

_MISSING = object()


def parse_overrides(args: Sequence[str]) -> list[Override]:
    """``key=value`` strings parsed by Hydra's own override grammar (raises Hydra's error on bad syntax)."""
    return OverridesParser.create().parse_overrides(list(args))


def evaluate_keys() -> set[str]:
    """The top-level keys of the composed evaluate.yaml, plus ``hydra``: overrides under these configure the
    evaluation itself."""
    return {*compose_config("evaluate"), "hydra"}


def split_evaluate_overrides(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Command-line arguments of evaluate.py split into those for its own config (flags and overrides of
    :func:`evaluate_keys`) and those for the trained run's config."""
    own_keys = evaluate_keys()
    flags = [a for a in args if (a.startswith("-") or "=" not in a) and not a.startswith("~")]
    overrides = [a for a in args if a not in flags]
    own, run = [], []
    for override in parse_overrides(overrides):
        top = override.key_or_group.split(".")[0].split("/")[0]
        (own if top in own_keys else run).append(override.input_line)
    return [*flags, *own], run


def _node_path(override: Override) -> str:
    """The config node a group override replaces: ``model/alignment`` -> ``model.alignment``."""
    return override.key_or_group.replace("/", ".")


def _is_group(override: Override) -> bool:
    return "." not in override.key_or_group and bool(group_options(override.key_or_group))


def _apply(cfg: DictConfig, override: Override) -> None:
    """One ``key=value`` / ``+key=value`` / ``++key=value`` / ``~key`` override on ``cfg``, with Hydra's meaning."""
    key = override.key_or_group
    exists = OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING
    if override.is_delete():
        if not exists:
            raise ValueError(f"cannot delete {key}: the run's config has no such key")
        parent, _, leaf = key.rpartition(".")
        with open_dict(cfg):
            del (OmegaConf.select(cfg, parent) if parent else cfg)[leaf]
        return
    if override.is_add() and exists:
        raise ValueError(f"cannot add {key} (+{key}=...): the run's config already has it; override it with {key}=...")
    if not exists and not (override.is_add() or override.is_force_add()):
        raise ValueError(
            f"the run's config has no key {key!r} (and evaluate.yaml has none either); add one with +{key}=..."
        )
    with open_dict(cfg):
        OmegaConf.update(cfg, key, override.value(), merge=False, force_add=True)


def run_config(stored: dict[str, Any], overrides: Sequence[str] = ()) -> DictConfig:
    """The resolved run config ``stored`` in a checkpoint with ``overrides`` applied (they win).

    ``key=value`` sets a value (``data.batch_size=8``); ``group=option`` swaps the whole group node for that
    option composed by Hydra the way ``train.py`` would (``data=imfdb``), together with the overrides inside
    that group (``data.root=...``). A swapped ``data`` keeps the run's image size unless ``data.image_size`` is
    given: the model only takes faces of the size it was trained on.
    """
    cfg = OmegaConf.create(stored)
    parsed = parse_overrides(overrides)
    groups = [o for o in parsed if _is_group(o) and not o.is_delete()]
    used: set[str] = set()
    for group in groups:
        node = _node_path(group)
        inside = [o for o in parsed if o not in groups and o.key_or_group.startswith(f"{node}.")]
        lines = [o.input_line for o in inside]
        if node == "data" and not any(o.key_or_group == "data.image_size" for o in inside):
            lines.append(f"data.image_size={cfg.data.image_size}")
        composed = compose_config("train", [group.input_line, *lines, f"seed={cfg.seed}", "paths.output_dir=."])
        OmegaConf.update(cfg, node, OmegaConf.to_container(OmegaConf.select(composed, node), resolve=True), merge=False)
        used |= {group.input_line, *(o.input_line for o in inside)}
    for override in parsed:
        if override.input_line not in used:
            _apply(cfg, override)
    return cfg
