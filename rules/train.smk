# Training runs: one job per run, its identity in its file name (pipeline.train.runs). The resume state lives in
# results/<profile>/train-state/, which no rule declares: Snakemake deletes declared outputs before a job starts.


rule train_run:
    input:
        checkpoint=train_init_checkpoint,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=CODE["model"] + CODE["batches"] + CODE["train"],
    output:
        metrics="results/{profile}/train/{run}.parquet",
        weights="results/{profile}/train/{run}.pt",
    log:
        "logs/{profile}/train/{run}.log",
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=TRAIN_GPUS,
    params:
        train=lookup(dpath="train", within=P),
        weight_decay=lookup(dpath="contradictions/weight_decay", within=P),
        state=train_state,
        profile=PROFILE,
    script:
        "scripts/train_run.py"
