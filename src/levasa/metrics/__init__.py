"""Metrics: array-in, number-out functions (numpy), each with oracle tests."""
