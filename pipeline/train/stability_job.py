"""One stability search job: the largest stable rate of one initial checkpoint, at every K (pipeline.train.stability).

Each trial starts from the checkpoint's weights with fresh momentum buffers and BN statistics, and trains the
first K mini-batches of epoch 0 of a training run of this seed (the full training set, whatever a reduced profile
trains on: the first K steps of the paper's recipe), stopping at the first loss above the divergence threshold.
"""

from __future__ import annotations

import copy
import dataclasses

import polars as pl

from pipeline.train.engine import make_optimizer, train_epoch
from pipeline.train.speed import Speed
from pipeline.train.stability import SCHEMA, Trial, search, timed
from pipeline.train.step_job import StepJob


def run(job: StepJob) -> pl.DataFrame:
    """Search the largest stable rate of ``job``'s checkpoint over the rates ``job.settings["lrs"]``, at every K of
    ``job.settings["steps"]``; write the trials to the output ``search``."""
    grid, steps = job.settings["lrs"], job.settings["steps"]
    model, state, data, recipe = job.setup()
    initial = copy.deepcopy(model.state_dict())
    speed = dataclasses.replace(Speed.from_params(job.train), sync_free=False)  # stop at the diverging step
    forward = speed.prepare(model)
    available = data.batches_per_epoch(recipe.batch_size)
    if max(steps) > available:
        raise ValueError(
            f"params.yaml: key 'stability.steps': K = {max(steps)} needs more than the {available} mini-batches "
            f"of one epoch of {job.data_npz}"
        )
    name = f"{state['variant_name']}-d{state['depth']}-s{state['seed']}"
    device = data.train_x.device
    print(f"{name} on {device}: rates {grid[0]:g}..{grid[-1]:g}, K = {sorted(steps)}, {speed}", flush=True)

    def attempt(lr: float, k: int) -> tuple[int | None, float | None, int]:
        model.load_state_dict(initial)
        optimizer = make_optimizer(model, recipe, lr, speed.sgd_kernels())
        trained = train_epoch(model, optimizer, data, recipe, state["seed"], 0, lr, speed, forward, max_steps=k)
        if "diverged" in trained:
            return trained["diverged"], trained["loss"], trained["diverged"] + 1
        return None, None, len(trained["step_losses"])

    trials: list[Trial] = search(list(grid), list(steps), timed(attempt), lambda line: print(line, flush=True))
    frame = pl.DataFrame([dataclasses.asdict(t) for t in trials], schema=SCHEMA)
    settings = {**dataclasses.asdict(recipe), "lrs": list(grid), "steps": list(steps), "device": str(device)}
    job.write(frame, job.outputs["search"], state, settings)
    print(f"{name}: {len(trials)} trials, {frame['steps'].sum()} steps in {frame['seconds'].sum():.0f} s", flush=True)
    return frame
