# Training runs: one job per run, its identity in its file name (pipeline.train.runs). The resume state lives in
# results/<profile>/train-state/, which no rule declares: Snakemake deletes declared outputs before a job starts.


rule train_run:
    input:
        checkpoint=train_init_checkpoint,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("train_run.py"),
    output:
        metrics=layout.TRAIN_METRICS,
        weights=layout.TRAIN_WEIGHTS,
    log:
        "logs/{profile}/train/{run}.log",
    conda:
        "../envs/torch.yaml"
    # One thread per run: on 2 cores two 1-thread runs at once train more runs per hour than one 2-thread run
    # (benchmarks/train_throughput.py); on a GPU the thread only feeds it. --set-threads train_run=N overrides.
    threads: 1
    resources:
        gpu=TRAIN_GPUS,
    params:
        recipe=train_recipe,
        execution=TRAIN_EXECUTION,
        state=train_state,
        profile=PROFILE,
    script:
        "scripts/train_run.py"
