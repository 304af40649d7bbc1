"""Snakemake adapter: write the seeded initial weights of (variant, depth, seed)."""

from pipeline import checkpoints
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    state = checkpoints.initial_state(
        sm.wildcards.variant,
        dict(sm.params.variant),
        dict(sm.params.model),
        int(sm.wildcards.depth),
        int(sm.wildcards.seed),
    )
    checkpoints.save(state, sm.output[0])
    print(f"{sum(t.numel() for t in state['state_dict'].values())} tensor values written")
