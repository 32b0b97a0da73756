"""Logged metric names (``stage/metric``), one constant per name that something else refers to."""

LOSS_PARTS = ("loss", "recon", "kl", "align")
VAL_LOSS = "val/loss"
"""Checkpoint monitor: the validation value of the training objective itself."""
CCC_V = "val/align/ccc_v"
CCC_A = "val/align/ccc_a"
MAE_V = "val/align/mae_v"
MAE_A = "val/align/mae_a"
MONITOR_MODE = "min"
