# Measurements at initialization, from the saved initial checkpoints and real training mini-batches.


rule probe_moments:
    input:
        checkpoint="results/init/{variant}-d{depth}-s{seed}.pt",
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_moments.py"),
    output:
        moments="results/{profile}/moments/{variant}-d{depth}-s{seed}.parquet",
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


rule probe_gradients:
    input:
        checkpoint="results/init/{variant}-d{depth}-s{seed}.pt",
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_gradients.py"),
    output:
        table="results/{profile}/gradients/{variant}-d{depth}-s{seed}.table.parquet",
        params="results/{profile}/gradients/{variant}-d{depth}-s{seed}.params.parquet",
        logits="results/{profile}/gradients/{variant}-d{depth}-s{seed}.logits.parquet",
        channels="results/{profile}/gradients/{variant}-d{depth}-s{seed}.channels.parquet",
        classes="results/{profile}/gradients/{variant}-d{depth}-s{seed}.classes.parquet",
        summands="results/{profile}/gradients/{variant}-d{depth}-s{seed}.summands.parquet",
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
        checkpoint="results/init/{variant}-d{depth}-s{seed}.pt",
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=script_code("probe_activations.py"),
    output:
        histograms="results/{profile}/activations/{variant}-d{depth}-s{seed}.histograms.parquet",
        mean_gradients="results/{profile}/activations/{variant}-d{depth}-s{seed}.mean_gradients.parquet",
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
