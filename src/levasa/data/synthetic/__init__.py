"""Circumplex faces: a procedural face set whose expression is a known function of valence and arousal.

- valence v drives mouth-corner curvature and mouth width, inner-brow slant and cheek raise (blush);
- arousal a drives eye openness (drooping lids), brow height and mouth opening (jaw drop);
- identity nuisance factors (:data:`identities.NUISANCE_NAMES`) drive everything else, and dominate the pixel
  variance: expression accounts for under a tenth of it (:func:`stats.expression_variance_share`).

Modules: :mod:`.identities` (the nuisance factors and their sampling), :mod:`.render` (the rasteriser),
:mod:`.generate` (labelled sets and their cache; the labels come from :mod:`levasa.annotation.sampling`),
:mod:`.stats`, :mod:`.figure` and the command line (``python -m levasa.data.synthetic grid|stats``).
Everything is deterministic per seed.
"""
