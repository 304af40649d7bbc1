"""Figures: Altair charts made from Parquet only (a colour change never reruns a computation)."""
