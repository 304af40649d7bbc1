"""Snakemake adapter: one RMT table (theory curves, spectra, or extreme singular values), chosen by the rule."""

from pipeline import parquet, provenance
from pipeline.rmt import experiments
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    p = dict(sm.params.rmt)
    frame = {
        "rmt_theory": lambda: experiments.theory_frame(p["spectrum_factors"], p["curve_points"]),
        "rmt_spectra": lambda: experiments.spectra_frame(p["seed"], p["n"], p["runs"], p["spectrum_factors"]),
        "rmt_condition": lambda: experiments.condition_frame(p["seed"], p["n"], p["runs"], p["condition_factors"]),
    }[sm.rule]()
    parquet.write(frame, sm.output[0], provenance.record(sm.params.profile, p))
    print(frame)
