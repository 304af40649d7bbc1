"""One trainability search job: the largest rate at which one initial checkpoint trains within H steps
(:mod:`pipeline.train.trainability`), for a row of Table 2 or Table 3.

Each trial starts from the checkpoint's weights (or from the end of the warm start's first phase, for a variant
with ``warm_start``), with fresh momentum buffers, and takes the paper's recipe (SGD with momentum and weight decay,
batch 128, pad-4 crop + flip) on the full training set in the data order of a training run of this seed, reading
every mini-batch loss on the host to stop at the first diverging one. At every horizon it reaches it measures the
test accuracy (evaluation mode, as training does) on the first ``test_images`` test images. The learning rate is
constant over the horizon: the paper's schedule divides it only after half of the epochs.

Resume: every finished trial is added at once (atomically) to a state file beside the output, which no rule
declares (Snakemake deletes declared outputs before a job starts). A search killed at any moment and started
again reruns its warm phase (deterministic) and no finished trial; a state written with other settings is
ignored, and one that cannot be read is set aside with a log line. The state is removed once the output is written.

The warm start (App. J: "we first train for one epoch with learning rate 0.0001") runs once per search, for
``warm_steps`` steps at the variant's warm rate; every trial continues from its weights, momentum buffers and place
in the data, at the trial's rate. Alternating normalization is a property of the variant's network
(:mod:`pipeline.norms`), so its trials need nothing else.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from pathlib import Path

import polars as pl
import torch

from pipeline import atomic, parquet, provenance
from pipeline.artifacts import ArtifactError, set_aside
from pipeline.runtime import progress
from pipeline.train import trainability
from pipeline.train.engine import descend, evaluate, first_divergence, make_optimizer, minibatch_loss, training_steps
from pipeline.train.speed import Speed
from pipeline.train.step_job import StepJob


def finished_trials(resume: Path, params: dict) -> dict[float, trainability.Trial]:
    """The trials a killed search with these provenance ``params`` finished (none if there is no state, or it is
    another search's, or another code version's); a state that cannot be read is set aside (renamed
    ``*.unreadable``) and the search starts over."""
    if not resume.is_file():
        return {}
    try:
        frame, record = parquet.read(resume), parquet.provenance(resume)
    except (ArtifactError, ValueError) as error:
        set_aside(resume, error, "the search starts over")
        return {}
    same = record["params"] == json.loads(json.dumps(params))  # as the record stores them (tuples become lists)
    if not same or record["code_version"] != provenance.code_version():
        print(f"{resume}: a resume state of other settings or code; the search starts over", flush=True)
        return {}
    trials = {t.lr: t for t in trainability.from_frame(frame.drop("variant", "depth", "seed"))}
    print(f"{resume}: resuming after {len(trials)} finished trials ({', '.join(f'{lr:g}' for lr in trials)})")
    return trials


def run(job: StepJob) -> pl.DataFrame:
    """Search ``job``'s checkpoint over ``job.settings`` (grid, horizons, test_images, chance_sigmas, warm_steps)
    and try every rate of its ``extra_lrs`` at the longest horizon (App. J's bn at 3.0 and 10.0); write the trials
    to the output ``search``, keeping the finished ones in the state file ``job.state`` until then."""
    search, extra_lrs, resume = job.settings, job.settings["extra_lrs"], Path(job.state)
    model, state, data, recipe = job.setup(test_images=search["test_images"])
    speed = dataclasses.replace(Speed.from_params(job.train), sync_free=False)  # stop at the diverging step
    forward = speed.prepare(model)
    horizons = sorted(search["horizons"])
    ceiling = trainability.chance_ceiling(data.test_x.shape[0], model.fc.out_features, search["chance_sigmas"])
    warm = state["variant"].get("warm_start")
    warm_steps = search["warm_steps"] if warm else 0
    name = f"{state['variant_name']}-d{state['depth']}-s{state['seed']}"
    print(
        f"{name} on {data.train_x.device}: rates {search['grid']}, horizons {horizons} steps"
        + (f" after {warm_steps} warm-start steps at {warm['lr']:g}" if warm else "")
        + f", chance = test accuracy <= {ceiling:.4f} on {data.test_x.shape[0]} test images, {speed}",
        flush=True,
    )

    def steps(optimizer: torch.optim.Optimizer, batches, count: int, what: str, measure=None):
        """Take up to ``count`` SGD steps; before each update yields (step, its mini-batch loss, whether that loss
        diverges), and stops at the first that does. ``measure(step)``, if given, runs before step ``step``'s
        forward pass: on the network after exactly ``step`` updates, whose BN statistics no later batch has
        touched (what a trial stopped after ``step`` steps measures)."""
        model.train()
        with speed.numerics():
            for step, (images, labels) in enumerate(progress(itertools.islice(batches, count), count, what)):
                if measure is not None:
                    measure(step)
                    model.train()
                _, loss = minibatch_loss(forward, speed, images, labels)
                value = loss.detach().double().cpu()
                diverges = first_divergence(value.view(1), recipe.divergence_loss) is not None
                yield step, float(value), diverges
                if diverges:
                    return
                descend(optimizer, loss)

    start_weights = copy.deepcopy(model.state_dict())
    start_momentum = None
    if warm_steps:
        optimizer = make_optimizer(model, recipe, warm["lr"], speed.sgd_kernels())
        batches = training_steps(data, recipe, state["seed"])
        for step, loss, diverges in steps(optimizer, batches, warm_steps, "warm-start steps"):
            if diverges:
                raise ValueError(f"{name}: the warm start diverged at step {step} (loss {loss:.4g})")
        start_weights, start_momentum = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
        print(f"warm start: {warm_steps} steps at {warm['lr']:g}, last mini-batch loss {loss:.4f}", flush=True)

    def attempt(lr: float, h: int) -> tuple[int, int | None, float | None, dict[int, float]]:
        model.load_state_dict(start_weights)
        optimizer = make_optimizer(model, recipe, lr, speed.sgd_kernels())
        if start_momentum is not None:
            optimizer.load_state_dict(start_momentum)
            for group in optimizer.param_groups:
                group["lr"] = lr
        batches = itertools.islice(training_steps(data, recipe, state["seed"]), warm_steps, None)
        accuracy: dict[int, float] = {}

        def measure(step: int) -> None:
            if step in horizons:  # a shorter horizon: measured as a trial stopped there would be
                accuracy[step] = evaluate(model, data, speed)[1]

        for step, loss, diverges in steps(optimizer, batches, h, f"lr {lr:g} steps", measure):
            if diverges:
                return step + 1, step, loss, accuracy
        accuracy[h] = evaluate(model, data, speed)[1]
        return h, None, None, accuracy

    def log(line: str) -> None:
        print(line, flush=True)

    settings = {
        **dataclasses.asdict(recipe),
        **{key: search[key] for key in ("grid", "horizons", "test_images", "chance_sigmas")},
        "warm_steps": warm_steps,
        "extra_lrs": list(extra_lrs),
        "chance_ceiling": ceiling,
        "device": str(data.train_x.device),
    }
    identity = {"variant": state["variant_name"], "depth": state["depth"], "seed": state["seed"]}
    finished = finished_trials(resume, {**settings, **identity})
    timed = trainability.timed(attempt)

    def trial(lr: float, h: int) -> trainability.Trial:
        """A finished trial that answers for ``h`` steps, else a new one, kept in the state at once."""
        if lr in finished and finished[lr].diverged(h) is not None:
            return finished[lr]
        finished[lr] = timed(lr, h)
        job.write(trainability.to_frame(list(finished.values())), resume, state, settings)
        return finished[lr]

    trials = trainability.search(list(search["grid"]), horizons, ceiling, trial, log)
    for lr in extra_lrs:
        trials.append(trial(lr, horizons[-1]))
        outcome = "stable" if trials[-1].diverged_step is None else f"diverged at step {trials[-1].diverged_step}"
        log(f"  lr {lr:g} (App. J), {horizons[-1]} steps: {outcome}")
    searched = [t for t in trials if t.lr in search["grid"]]
    for h in horizons:
        found = trainability.answer(searched, list(search["grid"]), h, ceiling)
        log(f"H = {h}: largest trainable rate {found.trainable}, largest non-diverging {found.stable}")
    frame = trainability.to_frame(trials)
    job.write(frame, job.outputs["search"], state, settings)
    atomic.remove(resume)
    seconds = sum(t.seconds for t in trials)
    print(f"{name}: {len(trials)} trials, {sum(t.steps for t in trials)} steps in {seconds:.0f} s", flush=True)
    return frame
