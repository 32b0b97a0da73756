"""levasa: face representations whose latent space is aligned with the valence-arousal circumplex."""

__version__ = "0.1.0"
