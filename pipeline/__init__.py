"""Reproduction of "Understanding Batch Normalization" (Bjorck et al., NeurIPS 2018)."""
