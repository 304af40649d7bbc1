"""Snakemake adapter: the update that makes the run diverge, and the loss and moments along it (Fig. 5, 6)."""

from pipeline.runtime import logged
from pipeline.updates import job as update_job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    job = update_job.UpdateJob.from_snakemake(sm)
    settings = {**sm.params.settings, "lr": float(sm.wildcards.lr)}  # the file name's rate is the run's rate
    update_job.diverging(
        job, settings, sm.params.stem_is_layer_1, {"path": sm.output.path, "moments": sm.output.moments}
    )
