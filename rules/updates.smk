# Single updates (§3.4, App. N): the diverging update (Fig. 5, 6) and the batch landscape (Fig. 24).


rule diverging_update:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("diverging_update.py"),
    output:
        **layout.kinds(layout.UPDATE, ("path", "moments")),
    log:
        "logs/{profile}/updates/{variant}-d{depth}-lr{lr}-s{seed}.diverging.log",
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=TRAIN_GPUS,
    params:
        settings={
            **P["updates"]["fig5"],
            "stem_is_layer_1": P["contradictions"]["stem_is_layer_1"],
        },
        recipe=train_runs.step_recipe(P),
        execution=TRAIN_EXECUTION,
        profile=PROFILE,
    script:
        "scripts/diverging_update.py"


rule batch_landscape:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("batch_landscape.py"),
    output:
        **layout.kinds(layout.UPDATE, ("landscape",)),
    log:
        "logs/{profile}/updates/{variant}-d{depth}-lr{lr}-s{seed}.landscape.log",
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=TRAIN_GPUS,
    params:
        settings=lookup(dpath="updates/fig24", within=P),
        recipe=train_runs.step_recipe(P),
        execution=TRAIN_EXECUTION,
        profile=PROFILE,
    script:
        "scripts/batch_landscape.py"
