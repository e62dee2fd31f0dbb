"""Synthetic, learnable stand-ins for the eight FedMEKI data sources."""
