"""Losses: the ELBO parts, written once, and the alignment terms chosen by name in config."""
