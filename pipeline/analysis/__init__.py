"""Reductions of measurements into what figures plot and claims decide (polars only, no torch)."""
