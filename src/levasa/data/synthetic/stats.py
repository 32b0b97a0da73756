"""How much of the pixel variance the expression explains: the nuisance factors should dominate it, as in real faces."""

from __future__ import annotations

import numpy as np

from levasa.annotation.sampling import sample_expressions
from levasa.checks import check_integer
from levasa.data.synthetic.identities import NUISANCE_NAMES, sample_identities
from levasa.data.synthetic.render import render


def expression_variance_share(
    n_identities: int = 64, expressions_per_identity: int = 16, image_size: int = 64, seed: int = 0
) -> float:
    """Share of pixel variance due to expression: the mean within-identity pixel variance (expression
    varying, nuisance fixed, no pixel noise) over the total pixel variance of all the images."""
    check_integer("n_identities", n_identities)
    check_integer("expressions_per_identity", expressions_per_identity)
    rng = np.random.default_rng(seed)
    nuisance = np.repeat(sample_identities(n_identities, rng), expressions_per_identity, axis=0)
    nuisance[:, NUISANCE_NAMES.index("noise_std")] = 0
    va = sample_expressions(len(nuisance), rng)[0]
    images = render(va, nuisance, image_size).reshape(n_identities, expressions_per_identity, -1)
    images = images.astype(np.float32)
    within = images.var(axis=1, dtype=np.float64).mean()
    total = images.reshape(len(nuisance), -1).var(axis=0, dtype=np.float64).mean()
    return float(within / total)
