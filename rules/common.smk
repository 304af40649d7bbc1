# Parameters and helpers shared by every rule file. params.yaml is read here, once, merged with the active
# profile and --config, and validated; nothing else reads it.
import sys
from pathlib import Path

from pipeline import config as params_file
from pipeline.analysis.training import reduced_scale
from pipeline.cifar10 import SOURCE_FILES, source_paths
from pipeline.train import runs as train_runs

try:
    P = params_file.load("params.yaml", config)
except params_file.ParamsError as error:
    sys.exit(f"error: {error}")

PROFILE = P["profile"]
DEPTH = P["model"]["depth"]
COMPARED = P["probes"]["variants"]  # the init probes' pair, normalized first
# data/raw: where download_cifar10 puts the canonical set when no local copy is configured
CIFAR10_ROOT = P["cifar10_root"] or "data/raw"
DATA = {"npz": "results/data/cifar10.npz", "provenance": "results/data/cifar10.json"}

# The pipeline/ modules each kind of job imports: rules list them as inputs, so a code change reruns exactly the
# jobs it affects.
CODE = {
    "data": ["pipeline/cifar10.py", "pipeline/atomic.py"],
    "model": ["pipeline/models.py", "pipeline/norms.py", "pipeline/checkpoints.py"],
    "batches": ["pipeline/batches.py"],
    "probe": [
        "pipeline/probes/moments.py",
        "pipeline/probes/job.py",
        "pipeline/parquet.py",
        "pipeline/provenance.py",
        "pipeline/jobs.py",
    ],
    "analysis": ["pipeline/analysis/moments.py", "pipeline/parquet.py"],
    "rmt": [
        "pipeline/rmt/products.py",
        "pipeline/rmt/theory.py",
        "pipeline/rmt/experiments.py",
    ],
    "rmt_analysis": ["pipeline/analysis/rmt.py", "pipeline/rmt/theory.py"],
    "gradients": [
        "pipeline/probes/summands.py",
        "pipeline/probes/job.py",
        "pipeline/parquet.py",
        "pipeline/provenance.py",
        "pipeline/jobs.py",
    ],
    "gradient_analysis": [
        "pipeline/analysis/gradients.py",
        "pipeline/analysis/channels.py",
        "pipeline/parquet.py",
    ],
    "activations": [
        "pipeline/probes/activations.py",
        "pipeline/probes/job.py",
        "pipeline/parquet.py",
        "pipeline/provenance.py",
        "pipeline/jobs.py",
    ],
    "activation_analysis": [
        "pipeline/analysis/activations.py",
        "pipeline/analysis/channels.py",
        "pipeline/parquet.py",
    ],
    "train": [
        "pipeline/train/data.py",
        "pipeline/train/engine.py",
        "pipeline/train/device.py",
        "pipeline/train/job.py",
        "pipeline/train/runs.py",
        "pipeline/parquet.py",
        "pipeline/provenance.py",
        "pipeline/jobs.py",
    ],
    "updates": [
        "pipeline/train/landscape.py",
        "pipeline/train/update_job.py",
        "pipeline/train/data.py",
        "pipeline/train/engine.py",
        "pipeline/train/device.py",
        "pipeline/train/job.py",
        "pipeline/probes/moments.py",
        "pipeline/parquet.py",
        "pipeline/provenance.py",
        "pipeline/jobs.py",
    ],
    "update_analysis": ["pipeline/analysis/updates.py", "pipeline/parquet.py"],
    "training_analysis": [
        "pipeline/analysis/training.py",
        "pipeline/train/runs.py",
        "pipeline/parquet.py",
    ],
    "stability": [
        "pipeline/train/stability.py",
        "pipeline/train/stability_job.py",
        "pipeline/train/update_job.py",
        "pipeline/train/landscape.py",
    ],
    "stability_analysis": [
        "pipeline/analysis/stability.py",
        "pipeline/analysis/moments.py",
        "pipeline/train/stability.py",
        "pipeline/train/runs.py",
        "pipeline/parquet.py",
    ],
    "claims": ["pipeline/claims.py"],
    "plots": ["pipeline/plots/render.py"],
}

RMT_FIGURES = ["fig8", "fig9", "fig10", "fig11", "fig12"]
# The gradient-summand targets and the folder each one is written to.
GRADIENT_TARGETS = {
    "table1": "tables",
    "table4": "tables",
    "fig2": "figures",
    "fig4": "figures",
    "fig7": "figures",
    "fig19": "figures",
    "fig20": "figures",
    "fig21": "figures",
    "fig22": "figures",
    "fig23": "figures",
}
# The activation-probe figures (Fig. 13 none, Fig. 14 bn, Fig. 18 both).
ACTIVATION_FIGURES = ["fig13", "fig14", "fig18"]
TABLES = [
    "tables/table1.md",
    "tables/table2.md",
    "tables/table3.md",
    "tables/table4.md",
    "tables/stability.md",
]
RMT = {
    kind: f"results/{PROFILE}/rmt/{kind}.parquet"
    for kind in ("theory", "spectra", "condition")
}
FIGURES = [
    f"figures/{fig}.svg"
    for fig in [
        "fig1",
        "fig2",
        "fig3",
        "fig4",
        "fig5",
        "fig6",
        "fig7",
        "fig13",
        "fig14",
        "fig15",
        "fig16",
        "fig17",
        "fig18",
        "fig19",
        "fig20",
        "fig21",
        "fig22",
        "fig23",
        "fig24",
        *RMT_FIGURES,
        "stability",
    ]
]
try:
    TRAIN_RUNS = list(
        dict.fromkeys(
            r for t in train_runs.TARGETS for r in train_runs.experiment_runs(t, P)
        )
    )
except ValueError as error:
    sys.exit(f"error: {error}")
# Every initial checkpoint: the init probes' pair, and the start of every training run.
INIT_CHECKPOINTS = list(
    dict.fromkeys(
        [f"results/init/{v}-d{DEPTH}-s{P['probes']['seed']}.pt" for v in COMPARED]
        + [f"results/init/{r.variant}-d{r.depth}-s{r.seed}.pt" for r in TRAIN_RUNS]
        + [
            f"results/init/{v}-d{d}-s{P['stability']['seed']}.pt"
            for v in P["stability"]["variants"]
            for d in P["stability"]["depths"]
        ]
    )
)
# Training: the runs each target needs, and the GPUs a run holds (snakemake --resources gpu=N shares N GPUs).
TRAIN_TARGETS = {
    **{t: "figures" for t in train_runs.CURVE_TARGETS},
    **{t: "tables" for t in train_runs.TABLE_TARGETS},
}
TRAIN_GPUS = train_runs.gpus_per_job(P["train"]["device"])
# How runs execute (device, speed): handed to the training job as an object Snakemake does not compare, so editing
# it never reruns a finished run (pipeline.train.runs.Execution).
TRAIN_EXECUTION = train_runs.Execution.from_params(P)
# Single updates: the files of Fig. 5/6 (one diverging run) and Fig. 24 (one landscape per network).
_U = P["updates"]
_FIG5 = f"{_U['fig5']['variant']}-d{DEPTH}-lr{train_runs.decimal(_U['fig5']['lr'])}-s{_U['seed']}"
UPDATES = {
    "path": f"results/{PROFILE}/updates/{_FIG5}.path.parquet",
    "moments": f"results/{PROFILE}/updates/{_FIG5}.moments.parquet",
    "landscapes": [
        f"results/{PROFILE}/updates/{n['variant']}-d{DEPTH}-lr{train_runs.decimal(n['lr'])}-s{_U['seed']}.landscape.parquet"
        for n in _U["fig24"]["networks"]
    ],
}
UPDATE_FIGURES = ["fig5", "fig6", "fig24"]
# Beyond the paper: one stability search per (variant, depth), and the Fig. 3 probe of the unnormalized net at each
# depth (its variance growth).
_S = P["stability"]
STABILITY = {
    "searches": [
        f"results/{PROFILE}/stability/{v}-d{d}-s{_S['seed']}.parquet"
        for v in _S["variants"]
        for d in _S["depths"]
    ],
    "moments": [
        f"results/{PROFILE}/moments/{_S['variants'][1]}-d{d}-s{P['probes']['seed']}.parquet"
        for d in _S["depths"]
    ],
}
# The claims file that checks each figure and table (one file per probe family, one per training target).
_C = f"results/{PROFILE}/claims"
CLAIM_FILE = {
    "fig3": f"{_C}/fig3.parquet",
    **{fig: f"{_C}/rmt.parquet" for fig in RMT_FIGURES},
    **{target: f"{_C}/gradients.parquet" for target in GRADIENT_TARGETS},
    **{fig: f"{_C}/activations.parquet" for fig in ACTIVATION_FIGURES},
    **{target: f"{_C}/{target}.parquet" for target in train_runs.TARGETS},
    **{fig: f"{_C}/updates.parquet" for fig in UPDATE_FIGURES},
    "stability": f"{_C}/stability.parquet",
}
CLAIMS = list(dict.fromkeys(CLAIM_FILE.values()))
# The aggregate targets: each builds its figures and tables and writes figures/claims.md and figures/report.html
# for them, naming what it left out (rules/scripts/summary.py).
_EVERY = [Path(f).stem for f in FIGURES + TABLES]
AGGREGATES = {
    "all": _EVERY,
    "without_training": [t for t in _EVERY if t not in TRAIN_TARGETS],
    "training": [t for t in _EVERY if t in TRAIN_TARGETS],
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
    """The summary's title and the sentence naming the targets the aggregate does not build, and which does."""
    left_out = {
        other: [t for t in targets if t not in AGGREGATES[name]]
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
        "title": f"Claim checks of `snakemake {name}` (profile {PROFILE})",
        "not_built": f"Not built by this target: {missing}." if missing else "",
    }


wildcard_constraints:
    profile=PROFILE,
    rmt_figure="|".join(RMT_FIGURES),
    gradient_table="table1|table4",
    gradient_figure="|".join(
        t for t, folder in GRADIENT_TARGETS.items() if folder == "figures"
    ),
    activation_figure="|".join(ACTIVATION_FIGURES),
    run=train_runs.WILDCARD,
    train_figure="|".join(train_runs.CURVE_TARGETS),
    train_table="|".join(train_runs.TABLE_TARGETS),
    update_figure="|".join(UPDATE_FIGURES),
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
    """The Figure 3 probe outputs of the active profile, normalized variant first."""
    return [
        f"results/{PROFILE}/moments/{v}-d{DEPTH}-s{P['probes']['seed']}.parquet"
        for v in COMPARED
    ]


def rmt_figure_data(wildcards):
    """The RMT tables a figure is drawn from (fig9: the curves; fig10: curves and spectra; ...)."""
    needs = {
        "fig8": ["spectra"],
        "fig9": ["theory"],
        "fig10": ["theory", "spectra"],
        "fig11": ["condition"],
        "fig12": ["condition"],
    }[wildcards.rmt_figure]
    return {kind: RMT[kind] for kind in needs}


def probe_files(probe, kind):
    """One output kind of an init probe ("gradients" or "activations") for the compared pair, normalized first."""
    return [
        f"results/{PROFILE}/{probe}/{v}-d{DEPTH}-s{P['probes']['seed']}.{kind}.parquet"
        for v in COMPARED
    ]


def probe_params(*keys):
    """The keys of the probes section one probe family reads (and the compared pair, which its provenance
    records for the figures), so that a change elsewhere in probes: (another family's layers) does not rerun it.
    """
    return {key: P["probes"][key] for key in keys}


def gradient_files(kind):
    """The gradient probe's outputs ("table", "params", "summands", ...) for the compared pair."""
    return probe_files("gradients", kind)


def train_metrics(target):
    """The metrics files of every run a training target needs (pipeline.train.runs.experiment_runs)."""
    return [
        f"results/{PROFILE}/train/{run.name}.parquet"
        for run in train_runs.experiment_runs(target, P)
    ]


def train_init_checkpoint(wildcards):
    """The initial checkpoint a training run starts from: its variant, depth and seed."""
    run = train_runs.Run.parse(wildcards.run)
    return f"results/init/{run.variant}-d{run.depth}-s{run.seed}.pt"


def train_state(wildcards):
    """Where a run keeps its resume state: not an output, so Snakemake never deletes it."""
    return f"results/{wildcards.profile}/train-state/{wildcards.run}.pt"


def train_recipe(wildcards):
    """What changes a run's numbers beyond its name: the recipe, the data it sees, the precision (and the plateau
    test for a run under the doubling rule). Sweep lists, the epoch scaling and the execution are not in it.
    """
    return train_runs.run_recipe(P, train_runs.Run.parse(wildcards.run).doubling)


def step_recipe():
    """The tracked parameters of jobs that take the first steps of training on the full training set (stability
    searches, single updates): the training recipe without the data keys, which only size training runs.
    """
    recipe = train_runs.run_recipe(P)
    return {k: v for k, v in recipe.items() if k not in ("train_images", "test_images")}


def target_metrics(wildcards):
    """The metrics of exactly the runs one training target needs (Fig. 16: Fig. 15's)."""
    return train_metrics(wildcards.get("train_figure") or wildcards.get("train_table"))


def target_experiment(wildcards):
    """The parameters that rebuild one training target's runs (pipeline.train.runs.experiment_params)."""
    return train_runs.experiment_params(
        wildcards.get("train_figure") or wildcards.get("train_table"), P
    )


def target_rules(wildcards):
    """The claim rules of one training target (a change in another figure's rules reruns nothing here)."""
    return P["figures"][wildcards.get("train_figure") or wildcards.get("train_table")]
