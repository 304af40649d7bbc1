# Claims, figures and tables, computed from Parquet only (so restyling a figure never reruns a probe), one rule per
# claims job and one figure rule per family, all generated from the registry (pipeline/targets.py). Every figure
# and table is marked for `snakemake --report`: its family is the category, its caption the registry's with the
# claim checks of the build.

for _unit, _members in registry.claim_units():
    _family = registry.FAMILIES[_members[0].family]

    rule:
        name:
            f"claims_{_unit}"
        input:
            **unit_data(_members),
            code=script_code("decide_claims.py"),
        output:
            **table_outputs(_members),
            claims=CLAIM_FILE[_members[0].name],
            markdown=[claims_markdown(t) for t in _members],
        log:
            f"logs/{PROFILE}/claims_{_unit}.log",
        conda:
            "../envs/figures.yaml"
        params:
            **report_caption(_members),
            family=_family.name,
            targets=[t.name for t in _members],
            settings=unit_settings(_members),
            profile=PROFILE,
        script:
            "scripts/decide_claims.py"


for _family in registry.FAMILIES.values():
    _drawn = registry.figures(_family.name)
    if not _drawn:  # a family of tables only
        continue

    rule:
        name:
            f"figure_{_family.name}"
        input:
            unpack(figure_data),
            code=script_code("draw_figure.py"),
        output:
            svg=reported("figures/{figure}.svg", _family.name),
            png="figures/{figure}.png",
        log:
            f"logs/{PROFILE}/figure_{{figure}}.log",
        wildcard_constraints:
            figure="|".join(_drawn),
        conda:
            "../envs/figures.yaml"
        params:
            settings=figure_settings,
            caption=lambda wildcards: rst_text(
                registry.TARGETS[wildcards.figure].caption
            ),
            verdicts=lambda wildcards: claims_markdown(
                registry.TARGETS[wildcards.figure]
            ),
        script:
            "scripts/draw_figure.py"


# Table 1 and Table 4 are the gradient probe's own numbers (their claims are the gradients family's).
rule table_gradients:
    input:
        tables=gradient_files("table"),
        verdicts=f"tables/{{gradient_table}}.claims.md",  # shown in its report caption
        code=script_code("table_gradients.py"),
    output:
        markdown=reported("tables/{gradient_table}.md", "gradients"),
        parquet="tables/{gradient_table}.parquet",
    log:
        f"logs/{PROFILE}/{{gradient_table}}.log",
    wildcard_constraints:
        gradient_table="|".join(
            t.name for t in registry.of_family("gradients") if t.table_rule
        ),
    conda:
        "../envs/figures.yaml"
    params:
        layers=lookup(dpath="probes/gradients", within=P),
        caption=lambda wildcards: rst_text(
            registry.TARGETS[wildcards.gradient_table].caption
        ),
        verdicts=lambda wildcards, input: input.verdicts,
    script:
        "scripts/table_gradients.py"


# Every claim check of a complete build in one table, and the claims metrics file (git-tracked for the cpu
# profile: pipeline/findings.py, `dvc metrics show`).
rule claims:
    input:
        claims=CLAIMS,
        code=script_code("claims.py"),
    output:
        table=f"results/{PROFILE}/claims.parquet",
        metrics=f"figures/claims.{PROFILE}.json",
    log:
        f"logs/{PROFILE}/claims.log",
    conda:
        "../envs/figures.yaml"
    params:
        profile=PROFILE,
        scales=claim_scales(),
    script:
        "scripts/claims.py"


# A failed job's outputs are deleted by Snakemake, and a file can be deleted or set aside (python -m
# pipeline.verify --set-aside), but Snakemake never rebuilds a missing file for an output that exists: a figure
# made from it would look current. So when the workflow loads, every output whose job read a file that is gone
# is marked for rebuilding (its time set to 1970: its other inputs are newer, and the rebuild first makes what
# is missing), with a line. A dry run (-n) and --touch only say so.
_SHORT_FLAGS = [
    a[1:] for a in sys.argv[1:] if a[:1] == "-" and a[1:].isalpha()
]  # -n, -np, -t
_DRY = bool(
    {"--dry-run", "--dryrun", "--touch"} & set(sys.argv)
    or any(set(f) & {"n", "t"} for f in _SHORT_FLAGS)
)
if workflow.is_main_process:
    for _made, _missing in stale_outputs():
        if not _DRY:
            os.utime(_made, (0, 0))
        print(
            f"{_made}: made from {_missing}, which no longer exists: "
            + ("a run rebuilds it" if _DRY else "marked for rebuilding"),
            file=sys.stderr,
        )
