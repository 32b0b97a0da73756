"""The jobs behind the entry points, one module each, plain functions of a composed config that scripts and
tests call alike:

- :mod:`~levasa.jobs.training`: ``train(cfg)`` (resume, the DDP re-validation, metrics.json);
- :mod:`~levasa.jobs.runconfig`: a trained run's stored config with command-line overrides, through Hydra;
- :mod:`~levasa.jobs.evaluation`: ``evaluate(cfg)``: encode once -> sections -> figures -> outputs;
- :mod:`~levasa.jobs.sweep`: ``evaluate_sweep(cfg)``: every job of a multirun, sweep.csv and the trade-off plot
  (an Optuna sweep's Pareto front too), and the objective values train.py returns to a multi-objective sweeper;
- :mod:`~levasa.jobs.prediction`: ``predict(cfg)``: VA and emotion for a folder of images;
- :mod:`~levasa.jobs.editing`: ``edit(cfg)``: faces moved to a VA target, a walk or an emotion, identity kept.

Annotation transfer (``transfer.py``) is :mod:`levasa.annotation.cli`, which never imports torch.
"""
