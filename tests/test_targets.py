"""The registry of targets and what derives from it: dvc.yaml, the code inputs of each rule, light figure jobs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import code_inputs, config, dvc_stages, targets
from pipeline.analysis import decisions
from pipeline.plots import figures
from tests.conftest import REPO


def test_committed_dvc_yaml_is_the_generated_one():
    assert (REPO / "dvc.yaml").read_text() == dvc_stages.render(), "run `python -m pipeline.dvc_stages`"
    assert dvc_stages.main(["--check"]) == 0


def test_dvc_yaml_names_only_what_a_clean_checkout_has():
    """`dvc repro` fails for a user when a stage runs a Snakemake target that does not exist, depends on a file a
    clean checkout lacks, or reads a params.yaml key that is not there; and `dvc plots show` when a plot is no
    figure. Every stage of the committed dvc.yaml is checked against the workflow's rule names and the files."""
    dvc, raw = (yaml.safe_load((REPO / name).read_text()) for name in ("dvc.yaml", "params.yaml"))
    workflow = "\n".join(p.read_text() for p in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))])
    rules = set(re.findall(r"^(?:rule|use rule \w+ as) (\w+)", workflow, re.MULTILINE))
    made = ("results/", "figures/", "tables/", "data/")  # what the stages build
    for name, stage in dvc["stages"].items():
        assert stage["cmd"].split()[-1] in rules, name
        missing = [d for d in stage["deps"] if not d.startswith(made) and not (REPO / d).exists()]
        assert missing == [], (name, missing)
        for key in stage.get("params", []):
            config.at(raw, key.replace(".", "/"))  # a KeyError names a key params.yaml lacks
    assert sorted(Path(plot).stem for plot in dvc["plots"]) == sorted(targets.figures())  # `dvc plots show`
    outs = {next(iter(out)) for out in dvc["stages"]["figures"]["outs"]}
    drawn = {f"figures/{name}{suffix}" for name in targets.figures() for suffix in (".svg", ".png", ".claims.md")}
    assert drawn <= outs  # every figure is cached and pushed, with its claims


def test_the_registry_covers_every_figure_and_table_of_the_paper():
    """The paper's 24 figures and 4 tables (../shared/EXPERIMENTS.md), and the two targets beyond it."""
    paper = {f"fig{i}" for i in range(1, 25)} | {f"table{i}" for i in range(1, 5)}
    assert set(targets.TARGETS) == paper | {"stability", "normalizers"}


def test_registry_is_consistent_with_params_and_functions(params):
    with pytest.raises(ValueError, match="two entries named 'fig3'"):
        targets._by_name(*[targets.TARGETS["fig3"]] * 2)
    for target in targets.TARGETS.values():
        assert target.family in targets.FAMILIES and target.caption.strip(), target
        assert target.figure or target.table, target
        assert set(target.reads) <= {*targets.FAMILIES[target.family].data, "table"}, target
    for family in targets.FAMILIES.values():
        for key in family.settings:
            config.at(params, key)  # a KeyError names a setting params.yaml does not have
    training = targets.of_family("training")
    assert {t.runs for t in training} <= set(params["training"]) and targets.TARGETS["fig16"].runs == "fig15"


def test_every_target_reaches_its_functions_by_import():
    """The figures the registry draws are exactly those pipeline/plots/figures.py maps, each to a function of its
    family's plot module; every family has its decide function; an unknown name is an error."""
    assert set(figures.DRAW) == set(targets.figures())
    for name, draw in figures.DRAW.items():
        assert draw.__module__ == f"pipeline.plots.{targets.TARGETS[name].family}", name
    assert set(decisions.DECIDE) == set(targets.FAMILIES)
    for family, decide in decisions.DECIDE.items():
        assert decide.__module__ == f"pipeline.analysis.{family}", family
    with pytest.raises(KeyError, match=r"pipeline/plots/figures\.py"):
        figures.draw("fig99", {}, {}, None)
    with pytest.raises(KeyError, match=r"pipeline/analysis/decisions\.py"):
        decisions.decide("nothing", {}, {}, [])


def test_claim_units_keep_the_order_of_the_claims_table():
    units = [name for name, _ in targets.claim_units()]
    assert units == ["moments", "rmt", "gradients", "activations", "fig1", "fig15", "fig16", "fig17", "trainability",
                     "updates", "stability", "normalizers"]  # fmt: skip
    covered = [t.name for _, members in targets.claim_units() for t in members]
    assert sorted(covered) == sorted(targets.TARGETS)


def test_code_inputs_follow_imports_transitively():
    figure = code_inputs.files("rules/scripts/draw_figure.py")
    assert {"pipeline/plots/stability.py", "pipeline/plots/render.py", "pipeline/train/runs.py"} <= set(figure)
    assert "pipeline/train/engine.py" not in figure and "pipeline/models.py" not in figure
    search = code_inputs.files("rules/scripts/stability_search.py")
    assert {"pipeline/train/step_job.py", "pipeline/train/engine.py", "pipeline/runtime.py"} <= set(search)
    assert not [f for f in search if f.startswith(("pipeline/updates/", "pipeline/plots/"))]  # no floor above


def test_package_init_files_hold_only_a_docstring():
    """code_inputs leaves __init__.py files out, which is right only while they hold no code."""
    for init in (REPO / "pipeline").rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        assert len(body) <= 1 and all(isinstance(node, ast.Expr) for node in body), init


def test_claims_figure_and_report_modules_load_no_torch():
    """Claims, figure and summary jobs import only these (and the adapters' pipeline.targets, pipeline.runtime)."""
    light = [
        f"pipeline.{'.'.join(p.relative_to(REPO / 'pipeline').with_suffix('').parts)}"
        for folder in ("analysis", "plots")
        for p in sorted((REPO / "pipeline" / folder).glob("[!_]*.py"))
    ]
    light += [f"pipeline.{m}" for m in ("claims", "findings", "report", "targets", "runtime", "dvc_stages")]
    code = f"import sys\nfor m in {light!r}: __import__(m)\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", light
