"""The stages of an evaluation, in order: :mod:`~levasa.evaluation.encode` (a split seen through the model, once),
:mod:`~levasa.evaluation.sections` (metrics.json, one small unit per section, chosen by ``sections`` in
evaluate.yaml), :mod:`~levasa.evaluation.figures` and :mod:`~levasa.evaluation.outputs` (metrics.json, report.md,
PNG figures, TensorBoard). :func:`levasa.jobs.evaluation.evaluate` runs them."""
