# Random matrix theory (§4, App. D, E): theoretical curves, empirical spectra, extreme singular values.


rule rmt_theory:
    input:
        code=CODE["rmt"],
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
        code=CODE["rmt"],
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
        code=CODE["rmt"],
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


rule claims_rmt:
    input:
        **RMT,
        code=CODE["rmt_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/rmt.parquet",
        markdown=[f"figures/{fig}.claims.md" for fig in RMT_FIGURES],
    log:
        f"logs/{PROFILE}/claims_rmt.log",
    conda:
        "../envs/figures.yaml"
    params:
        max_ks=lookup(dpath="rmt/max_ks", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_rmt.py"


rule figure_rmt:
    input:
        unpack(rmt_figure_data),
        claims=f"results/{PROFILE}/claims/rmt.parquet",
        code=CODE["rmt_analysis"] + CODE["plots"] + ["pipeline/plots/rmt.py"],
    output:
        svg="figures/{rmt_figure}.svg",
        png="figures/{rmt_figure}.png",
    log:
        f"logs/{PROFILE}/figure_{{rmt_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        bins=lookup(dpath="rmt/histogram_bins", within=P),
    script:
        "scripts/figure_rmt.py"
