# Parameters and helpers shared by every rule file. params.yaml is read here, once, merged with the active
# profile and --config, and validated; nothing else reads it.
import sys

from pipeline import config as params_file
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
    )
)
# Training: the runs each target needs, and the GPUs a run holds (snakemake --resources gpu=N shares N GPUs).
TRAIN_TARGETS = {
    "fig1": "figures",
    "fig15": "figures",
    "fig16": "figures",
    "fig17": "figures",
    "table2": "tables",
    "table3": "tables",
}
TRAIN_GPUS = 0 if P["train"]["device"] == "cpu" else 1
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
CLAIMS = [
    f"results/{PROFILE}/claims/fig3.parquet",
    f"results/{PROFILE}/claims/rmt.parquet",
    f"results/{PROFILE}/claims/gradients.parquet",
    f"results/{PROFILE}/claims/activations.parquet",
    f"results/{PROFILE}/claims/training.parquet",
    f"results/{PROFILE}/claims/updates.parquet",
]


wildcard_constraints:
    profile=PROFILE,
    rmt_figure="|".join(RMT_FIGURES),
    gradient_table="table1|table4",
    gradient_figure="|".join(
        t for t, folder in GRADIENT_TARGETS.items() if folder == "figures"
    ),
    activation_figure="|".join(ACTIVATION_FIGURES),
    run=train_runs.WILDCARD,
    train_figure="fig1|fig15|fig16|fig17",
    train_table="table2|table3",
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


def experiment_params(wildcards):
    """What pipeline.train.runs needs to rebuild the runs of every training target (not the whole params)."""
    return {
        key: P[key]
        for key in ("training", "variants", "model", "train", "contradictions")
    }


def train_figure_metrics(wildcards):
    """The runs a training figure draws (Fig. 16 draws Fig. 15's runs)."""
    figure = wildcards.train_figure
    return train_metrics("fig15" if figure == "fig16" else figure)


def training_rules(wildcards):
    """The claim rules of the training figures only (so a change elsewhere in figures: reruns nothing here)."""
    return {t: P["figures"][t] for t in TRAIN_TARGETS if t in P["figures"]}
