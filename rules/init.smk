# Seeded initial checkpoints: every probe and training run of (variant, depth, seed) starts from this file.


rule init_checkpoint:
    input:
        code=script_code("init_checkpoint.py"),
    output:
        layout.INIT_CHECKPOINT,
    log:
        "logs/init/{variant}-d{depth}-s{seed}.log",
    conda:
        "../envs/torch.yaml"
    params:
        variant=variant_entry,
        model=lookup(dpath="model", within=P),
    script:
        "scripts/init_checkpoint.py"
