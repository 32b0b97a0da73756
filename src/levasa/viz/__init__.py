"""Figures: image grids, traversals along the aligned chunks, the synthetic VA-plane grid."""
