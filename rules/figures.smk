# Claims and figures: computed from Parquet only, so restyling a figure never reruns a probe.


rule claims_fig3:
    input:
        moments=moments_files(),
        code=CODE["analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/fig3.parquet",
        markdown="figures/fig3.claims.md",
    log:
        f"logs/{PROFILE}/claims_fig3.log",
    conda:
        "../envs/figures.yaml"
    params:
        rules=lookup(dpath="figures/fig3", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_fig3.py"


rule figure_fig3:
    input:
        moments=moments_files(),
        claims=f"results/{PROFILE}/claims/fig3.parquet",
        code=CODE["analysis"] + CODE["plots"] + ["pipeline/plots/fig3.py"],
    output:
        svg="figures/fig3.svg",
        png="figures/fig3.png",
    log:
        f"logs/{PROFILE}/figure_fig3.log",
    conda:
        "../envs/figures.yaml"
    script:
        "scripts/figure_fig3.py"


rule claims:
    input:
        CLAIMS,
    output:
        table=f"results/{PROFILE}/claims.parquet",
        markdown="figures/claims.md",
    log:
        f"logs/{PROFILE}/claims.log",
    conda:
        "../envs/figures.yaml"
    script:
        "scripts/claims.py"
