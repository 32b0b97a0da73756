"""The Hydra applications behind ``train.py``, ``evaluate.py``, ``transfer.py``, ``predict.py`` and ``reproduce.py``
(also ``python -m levasa.apps.<name>`` and the ``levasa-<name>`` console scripts): a dozen lines each, composing
the config shipped with the package (:mod:`levasa.conf`) and calling one plain job function."""
