"""The whole DAG on CPU, as a user runs it: Snakemake on the smoke profile, its lint, bad parameters, and DVC.

Each test works in a copy of the checkout (the files git knows, committed or not), with a synthetic CIFAR-10
in the real on-disk layout, so it needs neither the internet nor ../shared.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipeline import parquet, targets
from pipeline.analysis import trainability as trainability_rows
from pipeline.checkout import copy_checkout
from pipeline.train import runs
from tests import browser
from tests.conftest import BIN, ENV, write_fake_cifar

pytestmark = pytest.mark.workflow

# Seconds any one command may take: about 3x the slowest step on a quiet 2-core machine (the smoke fixture's
# `dvc repro` stages: init_probes and figures about 3 min each), so two copies of the suite running side by side
# still pass, while a hung step fails in minutes, not at CI's limit.
STEP_LIMIT = 900


def _run(args: list[str], cwd: Path, check: bool = True, limit: float = STEP_LIMIT) -> subprocess.CompletedProcess:
    """Run a command in its own process group; past ``limit`` the whole group is killed (no orphaned Snakemake
    keeps writing or holds the lock) and the error names the DVC stage or Snakemake rule that was running."""
    job = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, start_new_session=True
    )
    try:
        stdout, stderr = job.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        stdout, stderr = job.communicate()
        running = re.findall(r"Running stage '([^']+)'|^(?:local)?rule (\w+):", stdout + stderr, re.MULTILINE)
        last = next((stage or rule for stage, rule in reversed(running)), "unknown")
        raise AssertionError(
            f"{args} ran past {limit} s and was killed with its process group; last stage or rule started: {last}\n"
            f"{stdout[-2000:]}\n{stderr[-2000:]}"
        ) from None
    done = subprocess.CompletedProcess(args, job.returncode, stdout, stderr)
    if check and done.returncode:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run([str(BIN / "snakemake"), "--cores", "2", *args], cwd, check)


# The aggregate targets: rules without output that summarize what they built, so they run whenever asked for.
AGGREGATES = {"all", "figures", "without_training", "training"}


def _nothing_to_do(dry_run: subprocess.CompletedProcess) -> bool:
    """Nothing but the summary of the aggregate asked for would run."""
    return _jobs(dry_run) <= AGGREGATES and sum(_job_counts(dry_run).values()) <= 1


def _jobs_run(run: subprocess.CompletedProcess) -> set[str]:
    """Rule names of the jobs a (real) Snakemake run executed, from its output."""
    return set(re.findall(r"^(?:local)?rule (\w+):", run.stdout + run.stderr, re.MULTILINE))


def _jobs(dry_run: subprocess.CompletedProcess) -> set[str]:
    """Rule names in the job table of a ``snakemake -n`` run."""
    return set(_job_counts(dry_run))


def _job_counts(dry_run: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule name -> number of jobs, from the job table of a ``snakemake -n`` run."""
    lines = (dry_run.stdout + dry_run.stderr).splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("job ")), None)
    if start is None:
        return {}
    counts = {}
    for line in lines[start + 2 :]:
        if not line.strip() or line.startswith("total"):
            break
        name, count = line.split()
        counts[name] = int(count)
    return counts


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The whole smoke-profile DAG, built as a team would: `dvc repro` in a git copy of the checkout whose
    params.yaml names the smoke profile and a synthetic CIFAR-10 (the same values are passed to Snakemake as
    --config, so a dry run with them changes nothing). The DVC remote of .dvc/config lies beside ``work``."""
    base = tmp_path_factory.mktemp("smoke")
    work = copy_checkout(base / "repo")
    cifar = write_fake_cifar(base / "data", images_per_batch=40)
    params = (work / "params.yaml").read_text()
    params = params.replace("\nprofile: cpu ", "\nprofile: smoke ", 1).replace(
        "\ncifar10_root: null ", f"\ncifar10_root: {cifar} ", 1
    )
    (work / "params.yaml").write_text(params)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"]):
        _run(["git", *args], work)
    with open(base / "stage-seconds.txt", "w") as times:  # what each limit guards, to size STEP_LIMIT
        for stage in yaml.safe_load((work / "dvc.yaml").read_text())["stages"]:  # one limit per stage, in order
            start = time.monotonic()
            _run([str(BIN / "dvc"), "repro", "--single-item", stage], work)
            times.write(f"{stage} {time.monotonic() - start:.0f}\n")
    _run([str(BIN / "dvc"), "repro"], work)  # nothing left: every stage ran above
    return work, ["--config", "profile=smoke", f"cifar10_root={cifar}"]


def test_smoke_dag_makes_figure_claims_and_long_format_parquet(smoke_run):
    work, _ = smoke_run
    for fig in ("fig2", "fig3", "fig4", "fig8", "fig9", "fig10", "fig11", "fig12", "fig19", "fig20", "fig21", "fig23"):
        for suffix in (".svg", ".png", ".claims.md"):
            assert (work / "figures" / f"{fig}{suffix}").stat().st_size > 0, fig + suffix
    assert (work / "figures/claims.md").stat().st_size > 0
    probe = work / "results/smoke/moments/none-d8-s0.parquet"
    frame = pl.read_parquet(probe)
    assert set(frame.columns) == {"variant", "depth", "seed", "batch", "layer", "channel", "stat", "value"}
    assert frame["layer"].max() == 7 and frame["batch"].n_unique() == 2  # depth 8 = 7 convs + linear; 2 batches
    record = parquet.provenance(probe)
    assert record["profile"] == "smoke" and record["data"]["canonical"] is False
    assert record["params"]["batch_size"] == 16
    claims = pl.read_parquet(work / "results/smoke/claims.parquet")
    figures = {path.name.removesuffix(".svg") for path in (work / "figures").glob("*.svg")}
    new = {"fig1", "fig5", "fig6", "fig7", "fig13", "fig14", "fig15", "fig16", "fig17", "fig18", "fig22", "fig24"}
    assert new <= figures and figures == set(targets.figures())
    assert set(claims["target"]) == set(targets.TARGETS)  # every figure and table carries its claim checks
    table1 = pl.read_parquet(work / "tables/table1.parquet")
    assert sorted(table1["layer"].unique().to_list()) == [2, 4, 6] and table1.height == 6
    assert "| (a)/(d) |" in (work / "tables/table1.md").read_text()
    assert set(claims["profile"]) == {"smoke"}
    condition = pl.read_parquet(work / "results/smoke/rmt/condition.parquet")
    assert (
        condition.height == 2 * 6
        and parquet.provenance(work / "results/smoke/rmt/condition.parquet")["params"]["n"] == 60
    )
    assert (work / "results/init/bn-d8-s0.pt").is_file() and (work / "logs/prepare_cifar10.log").is_file()


def test_nothing_to_do_after_a_run_and_a_figure_change_reruns_only_figures(smoke_run):
    work, config = smoke_run
    assert _nothing_to_do(_snakemake(work, "-n", *config))
    changed = _snakemake(work, "-n", *config, "figures={fig3: {max_bn_decades: 0.5}}")
    assert _jobs(changed) == {"claims_moments", "figure_moments", "claims", "all"}  # no probe


def test_html_report_has_every_figure_and_table_and_renders_in_chromium(smoke_run, tmp_path):
    work, _ = smoke_run
    page = (work / "figures/report.html").read_text()
    sections = set(re.findall(r"<section id='(\w+)'>", page))
    assert sections == set(targets.TARGETS)
    assert page.count("data:image/svg+xml;base64,") == len(targets.figures()) and "Profile <b>smoke</b>" in page
    shot = tmp_path / "report.png"
    assert browser.render(work / "figures/report.html", shot, tmp_path / "chromium") == []
    assert shot.stat().st_size > 100_000


def test_every_aggregate_summarizes_what_it_built_and_names_what_it_did_not(smoke_run):
    work, config = smoke_run
    _snakemake(work, "without_training", *config)
    summary = (work / "figures/claims.md").read_text()
    page = (work / "figures/report.html").read_text()
    assert summary.startswith("# Claim checks of `snakemake without_training` (profile smoke)")
    assert "Not built by this target: fig1, fig15, fig16, fig17, table2, table3 (`snakemake training`)." in summary
    assert "| fig3 |" in summary and "| fig1 |" not in summary and "| table3 |" not in summary
    sections = set(re.findall(r"<section id='(\w+)'>", page))
    assert "fig3" in sections and "stability" in sections and not sections & {"fig1", "fig15", "table2", "table3"}
    assert "Not built by this target: fig1, fig15" in page
    _snakemake(work, "training", *config)
    summary = (work / "figures/claims.md").read_text()
    assert "| fig1 |" in summary and "| fig3 |" not in summary and "fig2, fig3, fig4" in summary
    _snakemake(work, *config)  # back to `all`, which the other tests read
    summary = (work / "figures/claims.md").read_text()
    assert "Not built" not in summary and "| fig1 |" in summary and "| fig3 |" in summary
    metrics = json.loads((work / "figures/claims.smoke.json").read_text())
    assert metrics["profile"] == "smoke" and set(metrics) - {"profile", "commit"} == set(
        pl.read_parquet(work / "results/smoke/claims.parquet")["target"]
    )
    # the mission's command makes one figure and its claims, and no summary
    assert _jobs(_snakemake(work, "-n", "figures/fig3.svg", "-f", *config)) == {"figure_moments"}


@pytest.mark.parametrize(
    ("edit", "new_runs", "new_searches"),
    [
        ("train={speed: {optimizer: loop, channels_last: false}}", 0, 0),  # how steps run, not what they compute
        ("train={device: cpu}", 0, 0),
        ("training={fig17: {left: [{variant: bn}, {variant: mu_s}, {variant: g_mu_s}]}}", 1, 0),  # a curve added
        ("trainability={table2: {variants: [bn, mu_s, s, none, g_mu_s]}}", 0, 1),  # a row added: its one search
        ("trainability={table2: {variants: [bn, mu_s, s, none, alternating]}}", 0, 0),  # Table 3 searched it
    ],
)
def test_sweep_and_execution_edits_retrain_no_finished_run(smoke_run, edit, new_runs, new_searches):
    work, config = smoke_run
    dry_run = _snakemake(work, "-n", *config, edit)
    counts = _job_counts(dry_run)
    assert counts.get("train_run", 0) == new_runs and counts.get("trainability_search", 0) == new_searches, counts
    if new_runs == new_searches == 0 and "trainability" not in edit:
        assert _nothing_to_do(dry_run), counts


FIGURE_JOBS = {f"figure_{family}" for family in targets.FAMILIES if targets.figures(family)}
CLAIMS_JOBS = {f"claims_{unit}" for unit, _ in targets.claim_units()}


@pytest.mark.parametrize(
    ("module", "rerun"),
    [
        # a plot module: every figure job imports it (pipeline/plots/figures.py maps each figure to its function),
        # and nothing that measures or decides
        ("pipeline/plots/stability.py", FIGURE_JOBS),
        # imported by the gradient and activation analyses, so by every claims job (pipeline/analysis/decisions.py)
        ("pipeline/analysis/channels.py", CLAIMS_JOBS | FIGURE_JOBS | {"table_gradients", "claims"}),
        (
            "pipeline/train/step_job.py",  # the job of the single updates and of the searches
            {
                "diverging_update",
                "batch_landscape",
                "stability_search",
                "trainability_search",
                "claims_updates",
                "figure_updates",
                "claims_stability",
                "figure_stability",
                "claims_normalizers",  # the normalizers target reads the same searches
                "figure_normalizers",
                "claims_trainability",
                "claims",
            },
        ),
    ],
)
def test_editing_a_module_reruns_exactly_the_jobs_that_import_it(smoke_run, module, rerun):
    """Code inputs come from each adapter's imports (pipeline.code_inputs): the jobs that run the edited module
    rerun, then what reads their outputs, and nothing else."""
    work, config = smoke_run
    path = work / module
    text, before = path.read_text(), path.stat()
    try:
        path.write_text(text + "\n# edited\n")
        assert _jobs(_snakemake(work, "-n", *config)) == rerun | {"all"}
    finally:
        path.write_text(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _nothing_to_do(_snakemake(work, "-n", *config))


def test_snakemake_report_shows_every_figure_and_table_by_family_with_caption_and_checks(smoke_run, tmp_path):
    work, config = smoke_run
    out = tmp_path / "report.html"
    made = _snakemake(work, *config, "--report", str(out))
    assert "(ERROR/" not in made.stderr and "(WARNING/" not in made.stderr, made.stderr[-2000:]  # captions are RST
    page = out.read_text()
    for name in targets.figures():
        assert f"figures/{name}.svg" in page, name
    for name in targets.tables():
        assert f"tables/{name}.md" in page, name
    for family in targets.FAMILIES.values():
        assert family.title in page, family.title
    assert page.count("The claim checks of this build") == len(targets.figures()) + len(targets.tables())
    assert "moments grow ~exponentially with depth" in page  # fig3's checks, included in its caption


def test_lint_is_clean(smoke_run):
    work, config = smoke_run
    done = _snakemake(work, "--lint", *config)
    assert "good condition" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model={depth: 100}", "error: params.yaml (--config): key 'model.depth': 100 is not a CIFAR ResNet depth"),
        ("probes={batchs: 3}", "error: params.yaml (--config): key 'probes.batchs': unknown key"),
        ("probes={batches: many}", "error: params.yaml (--config): key 'probes.batches': 'many' is not of type"),
    ],
)
def test_bad_parameters_stop_the_workflow_with_one_line(smoke_run, override, expected):
    work, _ = smoke_run
    done = _snakemake(work, "-n", "--config", override, check=False)
    assert done.returncode != 0 and done.stderr.strip().splitlines()[-1].startswith(expected)


@pytest.fixture(scope="module")
def cpu_checkout(tmp_path_factory):
    """A copy of the checkout at the cpu profile with a synthetic CIFAR-10 (for dry runs only)."""
    base = tmp_path_factory.mktemp("cpu")
    work = copy_checkout(base / "repo")
    return work, ["--config", f"cifar10_root={write_fake_cifar(base / 'data')}"]


@pytest.mark.parametrize("target", ["fig1", "fig15", "fig16", "fig17", "table2", "table3", "stability"])
def test_each_training_target_trains_exactly_its_own_runs(cpu_checkout, params, target):
    work, config = cpu_checkout
    path = f"tables/{target}.md" if target.startswith("table") else f"figures/{target}.svg"
    counts = _job_counts(_snakemake(work, "-n", path, *config))
    if target == "stability":
        s = params["stability"]
        searches = len(s["variants"]) * len(s["depths"]) * len(s["seeds"])
        assert counts.get("train_run", 0) == 0 and counts["stability_search"] == searches
    elif target in ("table2", "table3"):  # one claims job decides both tables: it needs every search of both
        t = params["trainability"]
        searches = len(trainability_rows.searches(t, params["variants"])) * len(t["seeds"])
        assert counts.get("train_run", 0) == 0 and counts["trainability_search"] == searches
    else:
        assert counts["train_run"] == len(runs.experiment_runs(targets.TARGETS[target].runs, params)), counts
        assert "stability_search" not in counts


def test_bad_value_in_params_yaml_is_named(tmp_path):
    work = copy_checkout(tmp_path)
    text = (work / "params.yaml").read_text()
    (work / "params.yaml").write_text(text.replace("  batch_size: 128\n", "  batch_size: -128\n", 1))
    done = _snakemake(work, "-n", check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: key 'train.batch_size': -128 is less than the minimum of 1"
    )


def test_missing_local_copy_is_named_even_when_results_exist(smoke_run):
    work, _ = smoke_run  # built: a mistyped root must not be ignored because nothing needs the data now
    mistyped = ["--config", "profile=smoke", "cifar10_root=../nowhere"]
    done = _snakemake(work, "-n", "figures/fig3.svg", *mistyped, check=False)
    assert done.returncode != 0 and done.stderr.strip().splitlines()[-1] == (
        "error: cifar10_root: ../nowhere: no cifar-10-batches-py folder there (a path to the copy, e.g. "
        "../shared/cifar10)"
    )


def test_a_failed_job_never_leaves_its_figure_looking_current(smoke_run, tmp_path):
    """A probe file damaged by hand: its claims job fails in one line and Snakemake deletes the claims; once the
    file is deleted, asking for the figure again remakes the probe, the claims and the figure."""
    work, config = smoke_run
    copy = tmp_path / "work"
    shutil.copytree(work, copy, symlinks=True, ignore=shutil.ignore_patterns("cache"))
    probe = copy / "results/smoke/moments/bn-d8-s0.parquet"
    probe.write_bytes(probe.read_bytes()[:3000])
    failed = _snakemake(copy, "figures/fig3.svg", *config, check=False)
    assert failed.returncode != 0
    assert f"error in rule claims_moments: ArtifactError: {probe.relative_to(copy)}: unreadable Parquet file" in (
        failed.stderr
    )
    assert not (copy / "figures/fig3.claims.md").exists() and (copy / "figures/fig3.svg").exists()
    probe.unlink()
    again = _snakemake(copy, "figures/fig3.svg", *config)
    marked = re.search(
        r"^figures/fig3\.svg: made from (\S+), which no longer exists: marked for rebuilding$", again.stderr, re.M
    )
    assert marked and marked[1] in {"results/smoke/claims/moments.parquet", "figures/fig3.claims.md"}, again.stderr
    assert {"probe_moments", "claims_moments", "figure_moments"} <= _jobs_run(again)
    assert (copy / "figures/fig3.claims.md").stat().st_size > 0 and probe.stat().st_size > 3000
    assert _nothing_to_do(_snakemake(copy, "-n", "figures/fig3.svg", *config))


def test_dvc_repro_is_clean_afterwards_and_every_figure_is_a_dvc_out_and_plot(smoke_run):
    work, _ = smoke_run
    assert "up to date" in _run([str(BIN / "dvc"), "status"], work).stdout
    assert "didn't change" in _run([str(BIN / "dvc"), "repro"], work).stdout
    # DVC and Snakemake agree: after `dvc repro`, Snakemake has nothing left to make, and every file Snakemake
    # made under figures/ is a DVC out (so it is cached and pushed).
    assert _nothing_to_do(_snakemake(work, "-n"))
    stages = yaml.safe_load((work / "dvc.yaml").read_text())["stages"].values()
    declared = (o for s in stages for key in ("outs", "metrics") for entry in s.get(key, []) for o in entry)
    outs = {o.replace("${profile}", "smoke") for o in declared}
    committed = set(_run(["git", "ls-files", "figures"], work).stdout.split())  # e.g. the cpu claims metrics
    records = {str(p.relative_to(work)) for p in (work / "figures").glob(".*.sha256")}  # local, DVC-ignored
    made = {str(p.relative_to(work)) for p in (work / "figures").iterdir()} - committed - records
    assert made and made <= outs and "tables" in outs
    # Every rendered figure is a DVC plot: `dvc plots show` lists each PNG.
    shown = json.loads(_run([str(BIN / "dvc"), "plots", "show", "--json"], work).stdout)
    pngs = {m for m in made if m.endswith(".png")}
    assert pngs and not shown.get("errors")
    assert all(shown["data"][png] and shown["data"][png][0]["type"] == "image" for png in pngs)


def test_dvc_push_fresh_clone_pull_trusts_results_and_a_param_change_reruns_only_its_jobs(smoke_run):
    """The team round trip through the default remote (a directory beside the checkout, see .dvc/config).
    Last in this file: it commits in ``work`` and changes the clone only."""
    work, _ = smoke_run
    base = work.parent
    _run(["git", "add", "-f", "dvc.lock", "figures/claims.smoke.json"], work)  # the metrics file is git's, not DVC's
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results"], work)
    _run([str(BIN / "dvc"), "push"], work)
    assert any((base / "ubn-dvc-storage").rglob("*")), "the default remote lies beside the checkout"
    clone = base / "clone"
    _run(["git", "clone", "-q", str(work), str(clone)], base)
    assert not (clone / "figures/fig3.svg").exists()
    fresh = _run([str(BIN / "dvc"), "status"], clone).stdout  # docs/sharing.md: what would run, where --dry cannot say
    assert "figures/fig3.svg" in fresh and "results/data" in fresh
    pulled = _run([sys.executable, "-m", "pipeline.pull"], clone)
    assert "dvc.lock names" in pulled.stdout and "0 local files differ from the lock" in pulled.stdout
    assert "marked up to date: prepared_data, init_checkpoints" in pulled.stdout
    for name in ("figures/fig3.svg", "figures/fig17.png", "tables/table2.md", "results/init/bn-d8-s0.pt"):
        assert (clone / name).read_bytes() == (work / name).read_bytes(), name
    assert _nothing_to_do(_snakemake(clone, "-n"))
    assert "up to date" in _run([str(BIN / "dvc"), "status"], clone).stdout
    # One parameter of one probe family: its probe jobs and what reads them rerun, nothing else.
    params = clone / "params.yaml"
    params.write_text(params.read_text().replace("bins: 64,", "bins: 32,", 1))
    assert _jobs(_snakemake(clone, "-n")) == {
        "probe_activations",
        "claims_activations",
        "figure_activations",
        "claims",
        "all",
    }
    # DVC sees the change in the stages of those jobs (and in every stage, as each depends on the whole profiles:
    # section); `dvc repro` runs Snakemake, which reruns the same jobs, and afterwards both agree again.
    stale = set(json.loads(_run([str(BIN / "dvc"), "status", "--json"], clone).stdout))
    assert {"init_probes", "figures"} <= stale
    earlier_logs = set((clone / ".snakemake/log").iterdir())
    _run([str(BIN / "dvc"), "repro"], clone)
    assert "up to date" in _run([str(BIN / "dvc"), "status"], clone).stdout
    assert _nothing_to_do(_snakemake(clone, "-n"))
    ran = {
        rule
        for log in set((clone / ".snakemake/log").iterdir()) - earlier_logs
        for rule in re.findall(r"^(?:local)?rule (\w+):", log.read_text(), re.MULTILINE)
    }
    stages = set(yaml.safe_load((clone / "dvc.yaml").read_text())["stages"])  # their aggregate targets
    assert ran - stages == {"probe_activations", "claims_activations", "figure_activations", "claims"}
    histograms = clone / "results/smoke/activations/bn-d8-s0.histograms.parquet"
    assert parquet.provenance(histograms)["params"]["activations"]["bins"] == 32
    # Results that do not match the checkout are not trusted: pulled into a checkout with another value, the
    # old results are refused, not marked up to date.
    params.write_text(params.read_text().replace("bins: 32,", "bins: 16,", 1))
    refused = _run([sys.executable, "-m", "pipeline.pull"], clone, check=False)
    assert refused.returncode == 1 and "init_probes" in refused.stderr and "Run `dvc repro`" in refused.stderr
