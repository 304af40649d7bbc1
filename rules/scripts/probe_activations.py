"""Snakemake adapter: activation histograms (Fig. 13, 14) and channel mean vs gradient (Fig. 18) of one checkpoint."""

from pipeline.probes import activations
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    activations.run(ProbeJob.from_snakemake(sm), {kind: sm.output[kind] for kind in activations.OUTPUTS})
