"""Evaluate a run (``python evaluate.py ckpt=.../best.ckpt``) or a sweep (``sweep=DIR``); see
src/levasa/conf/evaluate.yaml."""

from levasa.apps.evaluate import main

if __name__ == "__main__":
    main()
