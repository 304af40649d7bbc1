"""Figure 4's statistic alone: each image's softmax and its own loss gradient at the logits, at initialization.

The gradient probe (:mod:`pipeline.probes.gradients`) writes the same frame as one of six outputs, from a full
backward pass through the network. The normalizers target needs only this frame, for five networks at three
depths, so :func:`run` does one forward pass of the probe's first mini-batch (training mode, as every init probe)
and differentiates the mean loss with respect to the logits only.
"""

from __future__ import annotations

import polars as pl
import torch
import torch.nn.functional as F

from pipeline import batches
from pipeline.probes.job import ProbeJob


def frame(logits: torch.Tensor, logit_grad: torch.Tensor, labels: torch.Tensor) -> pl.DataFrame:
    """Long format, a row per (image, class): image, class, label, gradient = dL_b/dz_bj of the image's own loss,
    probability = its softmax. ``logit_grad`` is the gradient of the batch's mean loss, so B times it is each
    image's own gradient (softmax - onehot)."""
    batch, classes = logits.shape
    return pl.DataFrame(
        {
            "image": [b for b in range(batch) for _ in range(classes)],
            "class": list(range(classes)) * batch,
            "label": [int(labels[b]) for b in range(batch) for _ in range(classes)],
            "gradient": (logit_grad * batch).flatten().tolist(),
            "probability": torch.softmax(logits, 1).flatten().tolist(),
        }
    )


def run(job: ProbeJob) -> pl.DataFrame:
    """Probe one initial checkpoint on the first probe mini-batch (the gradient probe's) and write the frame to the
    output ``logits``."""
    model, state, cifar = job.load()
    images, labels = next(batches.probe_batches(cifar, job.params["batch_size"], 1, job.params["data_seed"]))
    model.train()
    with torch.no_grad():
        logits = model(images)
    logits.requires_grad_(True)
    (logit_grad,) = torch.autograd.grad(F.cross_entropy(logits, labels), logits)
    measured = frame(logits.detach(), logit_grad, labels)
    job.write(measured, job.outputs["logits"], state)
    return measured
