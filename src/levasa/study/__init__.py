"""The reproduction study (``python reproduce.py``, levasa/conf/reproduce.yaml): the paper's four claims tested on the
synthetic analogues of its datasets, several seeds per number, evaluated on held-out faces; writes docs/RESULTS.md.

:mod:`.running` trains and evaluates every run (or reads a finished one back), :mod:`.runs` holds a run's
numbers and their statistics over seeds, :mod:`.verdicts` judges each claim from them and :mod:`.rendering`
writes them into RESULTS.md through the template ``results.md.j2``.
"""
