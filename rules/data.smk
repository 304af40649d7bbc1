# CIFAR-10: download the canonical set (only when no local copy is configured), then prepare it once.


rule download_cifar10:
    output:
        expand("data/raw/cifar-10-batches-py/{name}", name=SOURCE_FILES),
    log:
        "logs/download_cifar10.log",
    conda:
        "../envs/torch.yaml"
    script:
        "scripts/download_cifar10.py"


rule prepare_cifar10:
    input:
        sources=cifar10_sources(),
        code=script_code("prepare_cifar10.py"),
    output:
        npz=DATA["npz"],
        provenance=DATA["provenance"],
    log:
        "logs/prepare_cifar10.log",
    conda:
        "../envs/torch.yaml"
    script:
        "scripts/prepare_cifar10.py"
