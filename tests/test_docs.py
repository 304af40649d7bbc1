"""The README and docs/: every relative link reaches its file and heading, and every command names what exists.

A command is a line of a fenced ``bash`` block, or an inline span that starts with ``uv run``, ``python``,
``snakemake`` or ``bash``. What it names is checked without running it: a Snakemake target is a rule, a registry
figure or table, or a training run's file; a script or module exists and defines each ``--option`` given to it; a
``--config`` key is a top-level key of params.yaml; a pytest marker is declared. What the commands do is the other
tests' business (the smoke DAG, the DVC round trip, SLURM, the GPU check's dry run, the findings table)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from pipeline import targets
from pipeline.train import runs
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _prose(text: str) -> str:
    return FENCE.sub("", text)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", _prose(page.read_text()), re.MULTILINE)}


def _commands(page: Path) -> list[str]:
    """The shell commands of a page: fenced bash lines (continuations joined) and inline command spans."""
    text = page.read_text()
    lines = []
    for language, body in FENCE.findall(text):
        if language == "bash":
            lines += body.replace("\\\n", " ").splitlines()
    spans = [
        s.replace("\n", " ")
        for s in re.findall(r"`((?:\w+=\S+ )*(?:uv run|python3?|snakemake|bash) [^`]+)`", _prose(text))
    ]
    commands = [part for line in lines + spans for part in line.split(" # ", 1)[0].split("&&")]
    return [c.strip() for c in commands if c.strip() and not c.strip().startswith("#")]


def _rules() -> set[str]:
    text = "\n".join(p.read_text() for p in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))])
    return {
        name for pair in re.findall(r"^use rule \w+ as (\w+)|^rule (\w+):", text, re.MULTILINE) for name in pair if name
    }


def test_the_docs_are_one_folder_and_the_readme_a_front_page():
    assert len(PAGES) > 1
    assert len((REPO / "README.md").read_text().splitlines()) <= 150


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_reaches_its_file_and_heading(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text())):
        if re.match(r"\w+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.name}: {target}"
        assert not anchor or anchor in _anchors(linked), f"{page.name}: {target}"


def _check_script(words: list[str], source: Path) -> None:
    assert source.is_file(), source
    code = source.read_text()
    for name in re.findall(r"^(?:from|import) (\w+)", code, re.MULTILINE):  # a sibling module's shared options
        if (source.parent / f"{name}.py").is_file():
            code += (source.parent / f"{name}.py").read_text()
    for word in words:
        if word.startswith("--"):
            assert f'"{word.split("=")[0]}"' in code, f"{source.name} has no option {word}"


def _check_snakemake(words: list[str], rules: set[str], config_keys: set[str]) -> None:
    known = {f"figures/{t.name}.svg" for t in targets.TARGETS.values() if t.figure}
    known |= {f"tables/{t.name}.md" for t in targets.TARGETS.values() if t.table}
    config = False
    for before, word in zip(["", *words], words, strict=False):
        if word == "--config":
            config = True
        elif word.startswith("-") or before in {"--cores", "--workflow-profile", "--resources", "--report", "--sdm"}:
            config = False
            if before == "--workflow-profile":
                assert (REPO / word).is_dir(), word
        elif config:
            assert word.split("=")[0] in config_keys, f"--config {word}: not a top-level key of params.yaml"
        elif word.startswith("results/"):
            assert runs.NAME.match(Path(word).stem), word
        elif "/" in word or word.endswith((".svg", ".md")):
            assert word in known, f"{word}: no registry target makes it"
        elif not word.startswith("<") and "=" not in word and not word.isupper():  # TARGET, <targets>: placeholders
            assert word in rules, f"{word}: not a rule of the Snakefile"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_names_what_exists(page):
    rules = _rules()
    config_keys = set(yaml.safe_load((REPO / "params.yaml").read_text()))
    markers = {m.split(":")[0] for m in re.findall(r'^\s+"(\w+: [^"]*)"', (REPO / "pyproject.toml").read_text(), re.M)}
    for command in _commands(page):
        words = shlex.split(re.sub(r"<[^>]+>", lambda m: m.group(0).replace(" ", "_"), command))
        while re.match(r"[A-Z_]+=", words[0]):  # an environment variable set for the command
            words = words[1:]
        if words[:3] == ["uv", "run", "--locked"]:
            words = words[3:]
        elif words[:3] == ["pip", "install", "uv"]:
            continue
        tool, args = Path(words[0]).name, words[1:]
        if tool in {"python", "python3"} and args[:1] == ["-m"]:
            module = REPO / (args[1].replace(".", "/") + ".py")
            if args[1] != "pip":
                _check_script(args[2:], module)
        elif tool in {"python", "python3", "bash"}:
            _check_script(args[1:], REPO / args[0])
        elif tool == "snakemake":
            _check_snakemake(args, rules, config_keys)
        elif tool == "pytest" and "-m" in args:
            assert args[args.index("-m") + 1] in markers, command
        else:
            assert tool in {"pytest", "dvc", "git", "cd", "ruff"}, f"{page.name}: an unchecked command: {command}"
