# Beyond the paper: the largest stable learning rate vs depth (pipeline/train/stability.py), one search per
# (variant, depth), beside the unnormalized net's activation growth (the Fig. 3 probe at each depth).


rule stability_search:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("stability_search.py"),
    output:
        search=layout.STABILITY_SEARCH,
    log:
        "logs/{profile}/stability/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=TRAIN_GPUS,
    params:
        recipe=train_runs.step_recipe(P),
        execution=TRAIN_EXECUTION,
        settings={key: P["stability"][key] for key in ("lrs", "steps")},
        profile=PROFILE,
    script:
        "scripts/stability_search.py"
