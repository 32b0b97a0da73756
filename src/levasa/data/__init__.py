"""Datasets: the sample contract, the synthetic generator and the LightningDataModules."""
