# Measurements at initialization, from the saved initial checkpoints and real training mini-batches.


rule probe_moments:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_moments.py"),
    output:
        moments=layout.MOMENTS,
    log:
        "logs/{profile}/moments/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 4
    params:
        probes=probe_params("variants", "batch_size", "batches", "data_seed"),
        stem_is_layer_1=lookup(dpath="contradictions/stem_is_layer_1", within=P),
        profile=PROFILE,
    script:
        "scripts/probe_moments.py"


rule probe_logits:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_logits.py"),
    output:
        logits=layout.LOGITS,
    log:
        "logs/{profile}/logits/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 4
    params:
        probes=probe_params("batch_size", "data_seed"),
        stem_is_layer_1=lookup(dpath="contradictions/stem_is_layer_1", within=P),
        profile=PROFILE,
    script:
        "scripts/probe_logits.py"


rule probe_gradients:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_gradients.py"),
    output:
        **layout.kinds(layout.GRADIENTS, registry.FAMILIES["gradients"].data),
    log:
        "logs/{profile}/gradients/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 4
    params:
        probes=probe_params("variants", "batch_size", "data_seed", "gradients"),
        stem_is_layer_1=lookup(dpath="contradictions/stem_is_layer_1", within=P),
        profile=PROFILE,
    script:
        "scripts/probe_gradients.py"


rule probe_activations:
    input:
        checkpoint=layout.INIT_CHECKPOINT,
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_activations.py"),
    output:
        **layout.kinds(layout.ACTIVATIONS, registry.FAMILIES["activations"].data),
    log:
        "logs/{profile}/activations/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 4
    params:
        probes=probe_params(
            "variants", "batch_size", "batches", "data_seed", "activations"
        ),
        stem_is_layer_1=lookup(dpath="contradictions/stem_is_layer_1", within=P),
        profile=PROFILE,
    script:
        "scripts/probe_activations.py"
