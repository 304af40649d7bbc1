# Tables 2 and 3 as trainability searches (pipeline/train/trainability.py): one search per (variant, depth), the
# largest rate at which the paper's recipe neither diverges nor stays at chance within each horizon H. Its finished
# trials are kept in results/<profile>/trainability-state/ (no rule declares it), so a killed search resumes.


rule trainability_search:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("trainability_search.py"),
    output:
        search=layout.TRAINABILITY_SEARCH,
    log:
        "logs/{profile}/trainability/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=TRAIN_GPUS,
    params:
        recipe=train_runs.step_recipe(P),
        execution=TRAIN_EXECUTION,
        settings=trainability_settings,
        state=lambda wildcards: layout.TRAINABILITY_STATE.format(
            **dict(wildcards.items())
        ),
        profile=PROFILE,
    script:
        "scripts/trainability_search.py"
