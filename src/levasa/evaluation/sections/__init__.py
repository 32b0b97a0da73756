"""The sections of metrics.json and report.md, one module each. A section is any object with a ``title``, a
``compute(context) -> dict`` and a ``render(section) -> list[str]`` (see :class:`~.base.Section`), named in the
``sections`` node of evaluate.yaml by its ``_target_``: adding one is a new file and a config entry."""
