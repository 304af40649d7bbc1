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
        compared=lookup(dpath="probes/variants", within=P),
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


# Every claim check of a complete build in one table, and the claims metrics file (git-tracked for the cpu
# profile: pipeline/findings.py, `dvc metrics show`).
rule claims:
    input:
        claims=CLAIMS,
        code=CODE["claims"] + ["pipeline/findings.py"],
    output:
        table=f"results/{PROFILE}/claims.parquet",
        metrics=f"figures/claims.{PROFILE}.json",
    log:
        f"logs/{PROFILE}/claims.log",
    conda:
        "../envs/figures.yaml"
    params:
        profile=PROFILE,
        reduced=[
            t
            for t in TRAIN_TARGETS
            if reduced_scale(train_runs.experiment_params(t, P))
        ],
    script:
        "scripts/claims.py"


rule claims_gradients:
    input:
        tables=gradient_files("table"),
        params=gradient_files("params"),
        logits=gradient_files("logits"),
        channels=gradient_files("channels"),
        classes=gradient_files("classes"),
        summands=gradient_files("summands"),
        code=CODE["gradient_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/gradients.parquet",
        markdown=[f"{GRADIENT_TARGETS[t]}/{t}.claims.md" for t in GRADIENT_TARGETS],
    log:
        f"logs/{PROFILE}/claims_gradients.log",
    conda:
        "../envs/figures.yaml"
    params:
        table1=lookup(dpath="figures/table1", within=P),
        fig2=lookup(dpath="figures/fig2", within=P),
        fig4=lookup(dpath="figures/fig4", within=P),
        fig7=lookup(dpath="figures/fig7", within=P),
        fig19=lookup(dpath="figures/fig19", within=P),
        fig21=lookup(dpath="figures/fig21", within=P),
        fig22=lookup(dpath="figures/fig22", within=P),
        fig23=lookup(dpath="figures/fig23", within=P),
        depth=DEPTH,
        layers=lookup(dpath="probes/gradients", within=P),
        compared=lookup(dpath="probes/variants", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_gradients.py"


rule table_gradients:
    input:
        tables=gradient_files("table"),
        code=CODE["gradient_analysis"],
    output:
        markdown="tables/{gradient_table}.md",
        parquet="tables/{gradient_table}.parquet",
    log:
        f"logs/{PROFILE}/{{gradient_table}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        layers=lookup(dpath="probes/gradients", within=P),
    script:
        "scripts/table_gradients.py"


rule figure_gradients:
    input:
        params=gradient_files("params"),
        logits=gradient_files("logits"),
        channels=gradient_files("channels"),
        classes=gradient_files("classes"),
        summands=gradient_files("summands"),
        claims=f"results/{PROFILE}/claims/gradients.parquet",
        code=CODE["gradient_analysis"] + CODE["plots"] + ["pipeline/plots/gradients.py"],
    output:
        svg="figures/{gradient_figure}.svg",
        png="figures/{gradient_figure}.png",
    log:
        f"logs/{PROFILE}/figure_{{gradient_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        layers=lookup(dpath="probes/gradients", within=P),
    script:
        "scripts/figure_gradients.py"


rule claims_activations:
    input:
        histograms=probe_files("activations", "histograms"),
        mean_gradients=probe_files("activations", "mean_gradients"),
        code=CODE["activation_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/activations.parquet",
        markdown=[f"figures/{fig}.claims.md" for fig in ACTIVATION_FIGURES],
    log:
        f"logs/{PROFILE}/claims_activations.log",
    conda:
        "../envs/figures.yaml"
    params:
        fig13=lookup(dpath="figures/fig13", within=P),
        fig18=lookup(dpath="figures/fig18", within=P),
        compared=lookup(dpath="probes/variants", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_activations.py"


rule figure_activations:
    input:
        histograms=probe_files("activations", "histograms"),
        mean_gradients=probe_files("activations", "mean_gradients"),
        claims=f"results/{PROFILE}/claims/activations.parquet",
        code=CODE["activation_analysis"]
        + CODE["plots"]
        + ["pipeline/plots/activations.py"],
    output:
        svg="figures/{activation_figure}.svg",
        png="figures/{activation_figure}.png",
    log:
        f"logs/{PROFILE}/figure_{{activation_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        fig13=lookup(dpath="figures/fig13", within=P),
        compared=lookup(dpath="probes/variants", within=P),
    script:
        "scripts/figure_activations.py"


# Each training figure and table reads exactly its own runs (pipeline.train.runs.experiment_runs), so asking for
# one never trains another's.
rule claims_training_figure:
    input:
        metrics=target_metrics,
        code=CODE["training_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/{{train_figure}}.parquet",
        markdown="figures/{train_figure}.claims.md",
    log:
        f"logs/{PROFILE}/claims_{{train_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        experiment=target_experiment,
        rules=target_rules,
        profile=PROFILE,
    script:
        "scripts/claims_training.py"


rule claims_training_table:
    input:
        metrics=target_metrics,
        code=CODE["training_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/{{train_table}}.parquet",
        markdown="tables/{train_table}.claims.md",
        table="tables/{train_table}.md",
        parquet="tables/{train_table}.parquet",
    log:
        f"logs/{PROFILE}/claims_{{train_table}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        experiment=target_experiment,
        rules=target_rules,
        profile=PROFILE,
    script:
        "scripts/claims_training.py"


rule figure_training:
    input:
        metrics=target_metrics,
        claims=f"results/{PROFILE}/claims/{{train_figure}}.parquet",
        code=CODE["training_analysis"] + CODE["plots"] + ["pipeline/plots/training.py"],
    output:
        svg="figures/{train_figure}.svg",
        png="figures/{train_figure}.png",
    log:
        f"logs/{PROFILE}/figure_{{train_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        experiment=target_experiment,
    script:
        "scripts/figure_training.py"


rule claims_updates:
    input:
        path=UPDATES["path"],
        moments=UPDATES["moments"],
        landscapes=UPDATES["landscapes"],
        code=CODE["update_analysis"] + CODE["claims"],
    output:
        claims=f"results/{PROFILE}/claims/updates.parquet",
        markdown=[f"figures/{fig}.claims.md" for fig in UPDATE_FIGURES],
    log:
        f"logs/{PROFILE}/claims_updates.log",
    conda:
        "../envs/figures.yaml"
    params:
        fig5=lookup(dpath="figures/fig5", within=P),
        fig6=lookup(dpath="figures/fig6", within=P),
        fig24=lookup(dpath="figures/fig24", within=P),
        threshold=lookup(dpath="train/divergence_loss", within=P),
        networks=lookup(dpath="updates/fig24/networks", within=P),
        profile=PROFILE,
    script:
        "scripts/claims_updates.py"


rule figure_updates:
    input:
        path=UPDATES["path"],
        moments=UPDATES["moments"],
        landscapes=UPDATES["landscapes"],
        claims=f"results/{PROFILE}/claims/updates.parquet",
        code=CODE["update_analysis"] + CODE["plots"] + ["pipeline/plots/updates.py"],
    output:
        svg="figures/{update_figure}.svg",
        png="figures/{update_figure}.png",
    log:
        f"logs/{PROFILE}/figure_{{update_figure}}.log",
    conda:
        "../envs/figures.yaml"
    params:
        threshold=lookup(dpath="train/divergence_loss", within=P),
    script:
        "scripts/figure_updates.py"
