"""Models: encoder/decoder networks and the one LightningModule for Vanilla VAE and LeVAsa."""
