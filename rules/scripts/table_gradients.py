"""Snakemake adapter: Table 1 or Table 4 as Markdown and its Parquet twin, from the gradient probe's tables."""

from pipeline import parquet
from pipeline.analysis import gradients
from pipeline.atomic import write_text
from pipeline.runtime import logged

NOTES = {
    "table1": "Mean over the kernel of the summand statistics, each times 1/(positions x batch), at initialization.",
    "table4": "Table 1 extended with both neighbours of each layer (our choice of neighbours).",
}
sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    name = sm.wildcards.gradient_table
    wide = gradients.wide_table(parquet.read_all(sm.input.tables), sm.params.layers[f"{name}_layers"])
    record = parquet.provenance(sm.input.tables[0])
    parquet.write(wide, sm.output.parquet, record)
    p = record["params"]
    note = f"{NOTES[name]} Profile {record['profile']}, ResNet-{p['depth']}, seed {p['seed']}, batch {p['batch_size']}."
    write_text(sm.output.markdown, gradients.markdown(wide, name.replace("table", "Table "), note))
    print(wide)
