"""envs/*.yaml (the per-job-family environments for `snakemake --sdm conda`) pin exactly uv.lock's versions."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from tests.conftest import REPO


def _locked_for_python_311() -> dict[str, str]:
    """Each locked package's version for Python 3.11 (uv.lock may hold one version per Python range)."""
    locked = {}
    for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]:
        markers = package.get("resolution-markers", [])
        if not markers or any("python_full_version < '3.12'" in m for m in markers):
            locked[package["name"]] = package["version"]
    return locked


LOCKED = _locked_for_python_311()
ENVS = sorted((REPO / "envs").glob("*.yaml"))


def _pip_pins(path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for line in pip:
        if line.startswith("-e "):
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s]+)", line).groups()
        pins[name.lower()] = version
    return pins


@pytest.mark.parametrize("env", ENVS, ids=[p.stem for p in ENVS])
def test_env_pins_match_the_lock_file(env):
    pins = _pip_pins(env)
    assert pins, f"{env}: no pinned pip packages"
    for name, version in pins.items():
        assert LOCKED.get(name) == version, f"{env}: {name}=={version}, uv.lock has {LOCKED.get(name)}"
    python = next(d for d in yaml.safe_load(env.read_text())["dependencies"] if str(d).startswith("python="))
    assert python == "python=3.11"


def test_every_rule_env_exists():
    rules = "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    named = set(re.findall(r'"\.\./(envs/[a-z]+\.yaml)"', rules))
    assert named and all((REPO / n).is_file() for n in named)


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.-]+", r).group().lower() for r in requirements}


def test_figures_env_is_the_package_without_extras_and_torch_env_adds_torch():
    """The claims and figure jobs' environment installs pyproject's dependencies and nothing heavier; the network
    jobs' environment adds the torch extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = _requirement_names(project["dependencies"])
    figures = _pip_pins(REPO / "envs/figures.yaml")
    assert set(figures) == core and "torch" not in figures
    torch = _pip_pins(REPO / "envs/torch.yaml")
    assert _requirement_names(project["optional-dependencies"]["torch"]) <= set(torch)
    editable = {
        line
        for env in ("figures", "torch")
        for d in yaml.safe_load((REPO / f"envs/{env}.yaml").read_text())["dependencies"]
        if isinstance(d, dict)
        for line in d["pip"]
        if line.startswith("-e ")
    }
    assert editable == {"-e ..", "-e ..[torch]"}
