# Beyond the paper: the largest stable learning rate vs depth (pipeline/train/stability.py), one search per
# (variant, depth), beside the unnormalized net's activation growth (the Fig. 3 probe at each depth).


rule stability_search:
    input:
        checkpoint="results/init/{variant}-d{depth}-s{seed}.pt",
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=CODE["model"] + CODE["batches"] + CODE["train"] + CODE["stability"],
    output:
        "results/{profile}/stability/{variant}-d{depth}-s{seed}.parquet",
    log:
        "logs/{profile}/stability/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=TRAIN_GPUS,
    params:
        recipe=step_recipe(),
        execution=TRAIN_EXECUTION,
        search={key: P["stability"][key] for key in ("lrs", "steps")},
        profile=PROFILE,
    script:
        "scripts/stability_search.py"


rule claims_stability:
    input:
        searches=STABILITY["searches"],
        moments=STABILITY["moments"],
        code=CODE["stability_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/stability.parquet",
        markdown="figures/stability.claims.md",
        table="tables/stability.md",
        parquet="tables/stability.parquet",
    log:
        f"logs/{PROFILE}/claims_stability.log",
    conda:
        "../envs/figures.yaml"
    params:
        search=lookup(dpath="stability", within=P),
        rules=lookup(dpath="figures/stability", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_stability.py"


rule figure_stability:
    input:
        table="tables/stability.parquet",
        claims=f"results/{PROFILE}/claims/stability.parquet",
        code=CODE["plots"] + ["pipeline/plots/stability.py", "pipeline/train/runs.py"],
    output:
        svg="figures/stability.svg",
        png="figures/stability.png",
    log:
        f"logs/{PROFILE}/figure_stability.log",
    conda:
        "../envs/figures.yaml"
    params:
        search=lookup(dpath="stability", within=P),
        probes=probe_params("batch_size", "batches", "seed"),
    script:
        "scripts/figure_stability.py"
