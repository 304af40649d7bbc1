# Reproduction of "Understanding Batch Normalization" (Bjorck et al., NeurIPS 2018). Wiring only: the logic is
# in the pipeline/ package, the rules in rules/*.smk, the parameters in params.yaml (validated here).
#   snakemake --cores all figures/fig3.svg                        # Figure 3 at the profile of params.yaml
#   snakemake --cores all --config profile=smoke                  # everything, CI-sized
#   snakemake --cores all --config cifar10_root=../shared/cifar10 # a local CIFAR-10 copy (offline)

from snakemake.utils import min_version

min_version("9.0")


report: "rules/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/init.smk"
include: "rules/train.smk"
include: "rules/updates.smk"
include: "rules/probes.smk"
include: "rules/figures.smk"
include: "rules/rmt.smk"
include: "rules/stability.smk"
include: "rules/trainability.smk"


# Every figure and table with its claims; like every aggregate below, it also writes figures/claims.md and
# figures/report.html for what it built (a rule without output: it runs, in seconds, whenever it is asked for).
# The complete build also writes the claims metrics file (figures/claims.<profile>.json, rule claims).
rule all:
    default_target: True
    input:
        **aggregate_inputs("all"),
        metrics=f"figures/claims.{PROFILE}.json",
    log:
        f"logs/{PROFILE}/summary_all.log",
    conda:
        "envs/figures.yaml"
    params:
        **aggregate_summary("all"),
    script:
        "rules/scripts/summary.py"


# The DVC stage's name for the same target.
use rule all as figures with:
    log:
        f"logs/{PROFILE}/summary_figures.log",


# Every figure and table that needs no training run (init probes, single updates, random matrices): minutes on
# a CPU at the cpu profile.
use rule all as without_training with:
    input:
        **aggregate_inputs("without_training"),
    log:
        f"logs/{PROFILE}/summary_without_training.log",
    params:
        **aggregate_summary("without_training"),


# Every training figure and table (Fig. 1, 15, 16, 17, and Tables 2, 3 as trainability searches) with its claims: at
# the cpu profile the reduced training scale of params.yaml, at the paper profile the paper's.
use rule all as training with:
    input:
        **aggregate_inputs("training"),
    log:
        f"logs/{PROFILE}/summary_training.log",
    params:
        **aggregate_summary("training"),


# Aggregate targets, one per DVC stage (dvc.yaml): each builds one artifact family of the active profile.
rule prepared_data:
    input:
        DATA.values(),


rule init_checkpoints:
    input:
        INIT_CHECKPOINTS,


rule init_probes:
    input:
        moments_files(),
        [
            files
            for family in ("gradients", "activations")
            for files in FAMILY_DATA[family].values()
        ],
        STABILITY["moments"],
        NORMALIZERS["moments"],
        NORMALIZERS["logits"],


rule training_runs:
    input:
        [layout.TRAIN_METRICS.format(profile=PROFILE, run=r.name) for r in TRAIN_RUNS],


rule single_updates:
    input:
        UPDATES["path"],
        UPDATES["moments"],
        UPDATES["landscapes"],


rule rmt_tables:
    input:
        RMT.values(),


rule stability_searches:
    input:
        STABILITY["searches"],
        NORMALIZERS["searches"],


rule trainability_searches:
    input:
        TRAINABILITY,
