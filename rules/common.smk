# Parameters and helpers shared by every rule file. params.yaml is read here, once, merged with the active
# profile and --config, and validated; nothing else reads it.
import os
import re
import sys
from pathlib import Path

from pipeline import code_inputs, layout
from pipeline import config as params_file
from pipeline import targets as registry
from pipeline.analysis import trainability as trainability_rows
from pipeline.analysis.training import reduced_scale
from pipeline.artifacts import stale_outputs
from pipeline.cifar10 import SOURCE_FILES, CifarError, check_root, source_paths
from pipeline.train import runs as train_runs

try:
    P = params_file.load("params.yaml", config)
except params_file.ParamsError as error:
    sys.exit(f"error: {error}")

PROFILE = P["profile"]
DEPTH = P["model"]["depth"]
COMPARED = P["probes"]["variants"]  # the init probes' pair, normalized first
FIG3_NETWORKS = [
    *COMPARED,
    *P["probes"]["fig3_beside"],
]  # the pair and the networks drawn beside it
# data/raw: where download_cifar10 puts the canonical set when no local copy is configured
CIFAR10_ROOT = P["cifar10_root"] or "data/raw"
if P["cifar10_root"] is not None:
    try:
        check_root(P["cifar10_root"])
    except CifarError as error:
        sys.exit(f"error: {error}")
DATA = {"npz": layout.DATA_NPZ, "provenance": layout.DATA_PROVENANCE}


def script_code(script):
    """The code inputs of a rule: the pipeline modules its adapter script (rules/scripts/<script>) imports
    (pipeline.code_inputs), so a code change reruns exactly the jobs that run it.
    """
    return code_inputs.files(f"rules/scripts/{script}")


# What the pipeline makes, from the registry (pipeline/targets.py): every figure and table.
FIGURES = [f"figures/{name}.svg" for name in registry.figures()]
TABLES = [f"tables/{name}.md" for name in registry.tables()]
TRAINING = registry.of_family("training")
RMT = {
    kind: layout.RMT.format(profile=PROFILE, kind=kind)
    for kind in ("theory", "spectra", "condition")
}
try:
    TRAIN_RUNS = list(
        dict.fromkeys(
            r for t in TRAINING for r in train_runs.experiment_runs(t.runs, P)
        )
    )
except ValueError as error:
    sys.exit(f"error: {error}")
# Every initial checkpoint: the init probes' pair, and the start of every training run, stability search and
# trainability search.
_INIT = layout.INIT_CHECKPOINT
INIT_CHECKPOINTS = list(
    dict.fromkeys(
        [
            _INIT.format(variant=v, depth=DEPTH, seed=P["probes"]["seed"])
            for v in FIG3_NETWORKS
        ]
        + [
            _INIT.format(variant=r.variant, depth=r.depth, seed=r.seed)
            for r in TRAIN_RUNS
        ]
        + [
            _INIT.format(variant=v, depth=d, seed=seed)
            for v in P["stability"]["variants"]
            for d in P["stability"]["depths"]
            for seed in P["stability"]["seeds"]
        ]
        + [
            _INIT.format(variant=v, depth=d, seed=seed)
            for v in P["normalizers"]["variants"]
            for d in P["normalizers"]["depths"]
            for seed in sorted({*P["stability"]["seeds"], P["probes"]["seed"]})
        ]
        + [
            _INIT.format(variant=v, depth=d, seed=seed)
            for v, d in trainability_rows.searches(P["trainability"], P["variants"])
            for seed in P["trainability"]["seeds"]
        ]
    )
)
# The GPUs a training run holds (snakemake --resources gpu=N shares N GPUs).
TRAIN_GPUS = train_runs.gpus_per_job(P["train"]["device"])
# How runs execute (device, speed): handed to the training job as an object Snakemake does not compare, so editing
# it never reruns a finished run (pipeline.train.runs.Execution).
TRAIN_EXECUTION = train_runs.Execution.from_params(P)
# Single updates: the files of Fig. 5/6 (one diverging run) and Fig. 24 (one landscape per network).
_U = P["updates"]


def _update(network, kind):
    """The single-update file of one network (variant, lr) at the probes' depth."""
    lr = train_runs.decimal(network["lr"])
    return layout.UPDATE.format(
        profile=PROFILE,
        variant=network["variant"],
        depth=DEPTH,
        lr=lr,
        seed=_U["seed"],
        kind=kind,
    )


UPDATES = {
    "path": _update(_U["fig5"], "path"),
    "moments": _update(_U["fig5"], "moments"),
    "landscapes": [_update(n, "landscape") for n in _U["fig24"]["networks"]],
}
# Beyond the paper: one stability search per (variant, depth, seed), and the Fig. 3 probe of the unnormalized net at each
# depth (its variance growth).
_S = P["stability"]
_, _UNNORMALIZED = _S["variants"]  # the normalized network, then the unnormalized one
STABILITY = {
    "searches": [
        layout.STABILITY_SEARCH.format(profile=PROFILE, variant=v, depth=d, seed=seed)
        for v in _S["variants"]
        for d in _S["depths"]
        for seed in _S["seeds"]
    ],
    "moments": [
        layout.MOMENTS.format(
            profile=PROFILE, variant=_UNNORMALIZED, depth=d, seed=P["probes"]["seed"]
        )
        for d in _S["depths"]
    ],
}
# Beyond the paper: per (variant, depth) of the normalizers target, the stability searches over stability's seeds
# (the stability target's own files where they coincide), the moments probe and the softmax probe.
_N = P["normalizers"]
NORMALIZERS = {
    "searches": [
        layout.STABILITY_SEARCH.format(profile=PROFILE, variant=v, depth=d, seed=seed)
        for v in _N["variants"]
        for d in _N["depths"]
        for seed in _S["seeds"]
    ],
    **{
        kind: [
            pattern.format(
                profile=PROFILE, variant=v, depth=d, seed=P["probes"]["seed"]
            )
            for v in _N["variants"]
            for d in _N["depths"]
        ]
        for kind, pattern in (("moments", layout.MOMENTS), ("logits", layout.LOGITS))
    },
}
# Tables 2 and 3: one trainability search per (variant, depth) their rows name (pipeline.analysis.trainability) and
# seed, seed by seed (seed 0's searches first, so that a partial build already holds whole tables of one seed).
_T = P["trainability"]
TRAINABILITY = [
    layout.TRAINABILITY_SEARCH.format(profile=PROFILE, variant=v, depth=d, seed=seed)
    for seed in _T["seeds"]
    for v, d in trainability_rows.searches(_T, P["variants"])
]


def claim_scales():
    """The scale of each target's claims where it is not the paper's (the findings table's scale column): the
    training targets at a reduced training scale, and Tables 2 and 3 from searches over H steps.
    """
    reduced = {
        t.name: "reduced training"
        for t in TRAINING
        if reduced_scale(train_runs.experiment_params(t.runs, P))
    }
    horizons = ", ".join(map(str, _T["horizons"]))
    seeds = len(_T["seeds"])
    return reduced | {
        t.name: f"trainability search, H = {horizons} steps, {seeds} seed{'s' * (seeds > 1)}"
        for t in registry.of_family("trainability")
    }


def trainability_settings(wildcards):
    """What one trainability search reads (pipeline.analysis.trainability.search_settings)."""
    return trainability_rows.search_settings(
        _T, wildcards.variant, int(wildcards.depth)
    )


# The claims file that checks each figure and table: one per claims job (pipeline.targets.claim_units), in the order
# the claims table gathers them.
CLAIM_FILE = {
    target.name: layout.CLAIMS.format(profile=PROFILE, unit=unit)
    for unit, members in registry.claim_units()
    for target in members
}
CLAIMS = list(dict.fromkeys(CLAIM_FILE.values()))
# The aggregate targets: each builds its figures and tables and writes figures/claims.md and figures/report.html
# for them, naming what it left out (rules/scripts/summary.py).
_EVERY = list(registry.TARGETS)
AGGREGATES = {
    "all": _EVERY,
    "without_training": [
        t
        for t in _EVERY
        if registry.TARGETS[t].family not in ("training", "trainability")
    ],
    "training": [
        t for t in _EVERY if registry.TARGETS[t].family in ("training", "trainability")
    ],
}


def aggregate_inputs(name):
    """What an aggregate target builds and summarizes: figure SVGs, table Parquet twins, claims files."""
    targets = AGGREGATES[name]
    return {
        "figures": [f for f in FIGURES if Path(f).stem in targets],
        "tables": [
            t.replace(".md", ".parquet") for t in TABLES if Path(t).stem in targets
        ],
        "claims": list(dict.fromkeys(CLAIM_FILE[t] for t in targets)),
    }


def aggregate_summary(name):
    """The summary's title and the sentence naming the targets the aggregate does not build, and which does.
    `all` and its alias `figures` (the DVC stage) write the same text, so DVC's cached copy stays current.
    """
    left_out = {
        other: sorted(
            (t for t in targets if t not in AGGREGATES[name]), key=registry.paper_order
        )
        for other, targets in AGGREGATES.items()
        if other != "all"
    }
    missing = "; ".join(
        f"{', '.join(targets)} (`snakemake {other}`)"
        for other, targets in left_out.items()
        if targets
    )
    return {
        "profile": PROFILE,
        "title": f"Claim checks of `snakemake {name}`"
        + (" (or `snakemake figures`, its DVC stage)" if name == "all" else "")
        + f" (profile {PROFILE})",
        "not_built": f"Not built by this target: {missing}." if missing else "",
    }


wildcard_constraints:
    profile=PROFILE,
    run=train_runs.WILDCARD,
    lr=r"\d+(\.\d+)?",
    variant="|".join(P["variants"]),
    depth=r"\d+",
    seed=r"\d+",


def cifar10_sources():
    """The seven files of the cifar-10-batches-py layout: the configured local copy, or the download."""
    return [str(p) for p in source_paths(CIFAR10_ROOT)]


def variant_entry(wildcards):
    """The params.yaml entry of the variant a job is for."""
    return P["variants"][wildcards.variant]


def moments_files():
    """The Figure 3 probe outputs of the active profile: the compared pair, normalized variant first, then the
    networks drawn beside them."""
    seed = P["probes"]["seed"]
    return [
        layout.MOMENTS.format(profile=PROFILE, variant=v, depth=DEPTH, seed=seed)
        for v in FIG3_NETWORKS
    ]


def probe_files(pattern, kind):
    """One output kind of an init probe (layout.GRADIENTS or layout.ACTIVATIONS) for the compared pair,
    normalized first."""
    seed = P["probes"]["seed"]
    return [
        pattern.format(profile=PROFILE, variant=v, depth=DEPTH, seed=seed, kind=kind)
        for v in COMPARED
    ]


def probe_params(*keys):
    """The keys of the probes section one probe family reads (and the compared pair, which its provenance
    records for the figures), so that a change elsewhere in probes: (another family's layers) does not rerun it.
    """
    return {key: P["probes"][key] for key in keys}


def gradient_files(kind):
    """The gradient probe's outputs ("table", "params", "summands", ...) for the compared pair."""
    return probe_files(layout.GRADIENTS, kind)


def train_init_checkpoint(wildcards):
    """The initial checkpoint a training run starts from: its variant, depth and seed."""
    run = train_runs.Run.parse(wildcards.run)
    return layout.INIT_CHECKPOINT.format(
        variant=run.variant, depth=run.depth, seed=run.seed
    )


def train_state(wildcards):
    """Where a run keeps its resume state: not an output, so Snakemake never deletes it."""
    return layout.TRAIN_STATE.format(profile=wildcards.profile, run=wildcards.run)


def train_recipe(wildcards):
    """What changes a run's numbers beyond its name: the recipe, the data it sees, the precision (and the plateau
    test for a run under the doubling rule). Sweep lists, the epoch scaling and the execution are not in it.
    """
    return train_runs.run_recipe(P, train_runs.Run.parse(wildcards.run).doubling)


def family_data():
    """Each family's measurement files by kind (pipeline.targets.Family.data); training's are per target
    (unit_data). Checked against the registry, so a family and its files cannot drift apart.
    """
    data = {
        "moments": {"moments": moments_files()},
        "rmt": RMT,
        "gradients": {
            kind: gradient_files(kind) for kind in registry.FAMILIES["gradients"].data
        },
        "activations": {
            kind: probe_files(layout.ACTIVATIONS, kind)
            for kind in registry.FAMILIES["activations"].data
        },
        "updates": UPDATES,
        "stability": STABILITY,
        "normalizers": NORMALIZERS,
        "trainability": {"searches": TRAINABILITY},
    }
    for name, family in registry.FAMILIES.items():
        if name in data and tuple(data[name]) != family.data:
            sys.exit(
                f"error: rules/common.smk lays out {list(data[name])} for family {name}, "
                f"pipeline/targets.py declares {list(family.data)}"
            )
    return data


FAMILY_DATA = family_data()


def unit_data(members):
    """The measurement files a claims job reads: its family's, or for a training target exactly its runs'."""
    if members[0].family == "training":
        return {
            "metrics": [
                layout.TRAIN_METRICS.format(profile=PROFILE, run=run.name)
                for run in train_runs.experiment_runs(members[0].runs, P)
            ]
        }
    return FAMILY_DATA[members[0].family]


def unit_settings(members):
    """The parameters a claims or figure job of these targets reads (pipeline.targets.job_settings)."""
    return registry.job_settings(members, P)


def figure_settings(wildcards):
    """The parameters of one figure job: those of the claims job that decided its checks."""
    target = registry.TARGETS[wildcards.figure]
    if registry.FAMILIES[target.family].claims_per_target:
        return unit_settings([target])
    return unit_settings(registry.of_family(target.family))


def figure_data(wildcards):
    """The files one figure reads: the kinds of its family's data it names (all when none; "table": the table
    its claims job wrote), or a training figure's runs, and its claims file."""
    target = registry.TARGETS[wildcards.figure]
    return {
        **target.figure_data(unit_data([target])),
        "claims": CLAIM_FILE[target.name],
        "verdicts": claims_markdown(target),
    }


# Outputs marked for `snakemake --report` (rules/figures.smk).
CAPTION = "report/target.rst"


def rst_text(text):
    """Plain text made safe for a reStructuredText caption (|x| is a substitution there, *x* emphasis)."""
    return re.sub(r"([|*`_\\])", r"\\\1", text)


def reported(path, family):
    """An output marked for `snakemake --report`: the family's category, the registry's caption and checks."""
    return report(path, caption=CAPTION, category=registry.FAMILIES[family].title)


def claims_markdown(target):
    """Where a target's claim checks are shown: beside its figure, or beside its table."""
    return f"{target.folder}/{target.name}.claims.md"


def table_outputs(members):
    """The tables a claims job writes on the way (Markdown, marked for the report, and the Parquet twin)."""
    made = [t for t in members if t.table and not t.table_rule]
    if not made:
        return {}
    return {
        "tables": [reported(f"tables/{t.name}.md", t.family) for t in made],
        "table_parquets": [f"tables/{t.name}.parquet" for t in made],
    }


def report_caption(members):
    """The caption and claim checks of the one table a claims job marks for the report (empty when none); the
    checks are the job's own Markdown output of that target."""
    made = [t for t in members if t.table and not t.table_rule]
    if not made:
        return {"caption": "", "verdicts": ""}
    position = members.index(made[0])
    return {
        "caption": rst_text(made[0].caption),
        "verdicts": lambda wildcards, output: output.markdown[position],
    }
