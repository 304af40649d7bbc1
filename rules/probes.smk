# Measurements at initialization, from the saved initial checkpoints and real training mini-batches.


rule probe_moments:
    input:
        checkpoint="results/init/{variant}-d{depth}-s{seed}.pt",
        data=DATA["npz"],
        provenance=DATA["provenance"],
        code=CODE["model"] + CODE["batches"] + CODE["probe"],
    output:
        "results/{profile}/moments/{variant}-d{depth}-s{seed}.parquet",
    log:
        "logs/{profile}/moments/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    threads: 4
    params:
        probes=lookup(dpath="probes", within=P),
        stem_is_layer_1=lookup(dpath="contradictions/stem_is_layer_1", within=P),
        profile=PROFILE,
    script:
        "scripts/probe_moments.py"
