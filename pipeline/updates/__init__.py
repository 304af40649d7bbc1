"""The single-update experiments (§3.4, App. N): the diverging update of Fig. 5 and 6, and the batch landscapes of
Fig. 24 (:mod:`pipeline.updates.steps`), run as jobs on an initial checkpoint (:mod:`pipeline.updates.job`)."""
