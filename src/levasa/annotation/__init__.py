"""Annotation transfer between categorical emotion labels and valence-arousal values (numpy and scikit-learn)."""
