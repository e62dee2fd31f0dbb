"""Federated learning: aggregation maths, algorithms as client-update and aggregation pieces, the engines."""
