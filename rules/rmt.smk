# Random matrix theory (§4, App. D, E): theoretical curves, empirical spectra, extreme singular values.


rule rmt_theory:
    input:
        code=script_code("rmt_tables.py"),
    output:
        RMT["theory"],
    log:
        f"logs/{PROFILE}/rmt_theory.log",
    conda:
        "../envs/figures.yaml"
    params:
        rmt=lookup(dpath="rmt", within=P),
        profile=PROFILE,
    script:
        "scripts/rmt_tables.py"


rule rmt_spectra:
    input:
        code=script_code("rmt_tables.py"),
    output:
        RMT["spectra"],
    log:
        f"logs/{PROFILE}/rmt_spectra.log",
    conda:
        "../envs/figures.yaml"
    threads: 4
    params:
        rmt=lookup(dpath="rmt", within=P),
        profile=PROFILE,
    script:
        "scripts/rmt_tables.py"


rule rmt_condition:
    input:
        code=script_code("rmt_tables.py"),
    output:
        RMT["condition"],
    log:
        f"logs/{PROFILE}/rmt_condition.log",
    conda:
        "../envs/figures.yaml"
    threads: 4
    params:
        rmt=lookup(dpath="rmt", within=P),
        profile=PROFILE,
    script:
        "scripts/rmt_tables.py"
