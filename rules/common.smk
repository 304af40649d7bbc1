# Parameters and helpers shared by every rule file. params.yaml is read here, once, merged with the active
# profile and --config, and validated; nothing else reads it.
import sys

from pipeline import config as params_file
from pipeline.cifar10 import SOURCE_FILES, source_paths

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
TABLES = ["tables/table1.md", "tables/table4.md"]
RMT = {
    kind: f"results/{PROFILE}/rmt/{kind}.parquet"
    for kind in ("theory", "spectra", "condition")
}
FIGURES = [
    f"figures/{fig}.svg"
    for fig in [
        "fig2",
        "fig3",
        "fig4",
        "fig7",
        "fig13",
        "fig14",
        "fig18",
        "fig19",
        "fig20",
        "fig21",
        "fig22",
        "fig23",
        *RMT_FIGURES,
    ]
]
INIT_CHECKPOINTS = [
    f"results/init/{v}-d{DEPTH}-s{P['probes']['seed']}.pt" for v in COMPARED
]
CLAIMS = [
    f"results/{PROFILE}/claims/fig3.parquet",
    f"results/{PROFILE}/claims/rmt.parquet",
    f"results/{PROFILE}/claims/gradients.parquet",
    f"results/{PROFILE}/claims/activations.parquet",
]


wildcard_constraints:
    profile=PROFILE,
    rmt_figure="|".join(RMT_FIGURES),
    gradient_table="table1|table4",
    gradient_figure="|".join(
        t for t, folder in GRADIENT_TARGETS.items() if folder == "figures"
    ),
    activation_figure="|".join(ACTIVATION_FIGURES),
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


def gradient_files(kind):
    """The gradient probe's outputs ("table", "params", "summands", ...) for the compared pair."""
    return probe_files("gradients", kind)
