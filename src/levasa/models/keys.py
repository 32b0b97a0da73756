"""Logged metric names (``stage/metric``), one constant per name that something else refers to."""

VAL_LOSS = "val/loss"
"""The validation value of the training objective itself (the default ``monitor.metric`` of train.yaml)."""
CCC_V = "val/align/ccc_v"
CCC_A = "val/align/ccc_a"
MAE_V = "val/align/mae_v"
MAE_A = "val/align/mae_a"
