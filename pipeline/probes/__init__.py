"""Measurements of networks at initialization (the saved initial checkpoints, training mode)."""
