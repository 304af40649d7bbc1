"""The pipeline modules a job runs, from the imports of its adapter script: the code inputs of each rule.

A rule lists the ``pipeline/`` files its job imports, directly or through other pipeline modules, as inputs, so
that editing a module reruns exactly the jobs that run it. They are read from the source (a static walk of the
``import`` statements with :mod:`ast`), never written by hand: a list kept by hand goes stale silently. Every
function a job calls is imported by name at the top of a module (pipeline/plots/figures.py and
pipeline/analysis/decisions.py map targets to their functions), so the walk sees all of them.

Package ``__init__.py`` files are not listed: they hold only docstrings (a test keeps it so).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _module_file(name: str, repo: Path) -> Path | None:
    """The file of a ``pipeline`` module (``pipeline.analysis.gradients``), or None for a package or a name that is
    not a module (an attribute: ``from pipeline.claims import Check``)."""
    path = repo.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _import_statements(text: str) -> str:
    """The ``pipeline`` import statements of a Snakemake file (not Python as a whole), each with its continuation
    lines when parenthesized, as Python source."""
    kept, inside = [], False  # inside: within a parenthesized name list
    for line in text.splitlines():
        if inside:
            kept.append(line)
            inside = ")" not in line
        elif re.match(r"(from|import) pipeline\b", line):
            kept.append(line)
            inside = "(" in line and ")" not in line
    return "\n".join(kept)


def _imported(path: Path) -> set[str]:
    """The ``pipeline`` module names one file imports (absolute imports; the project uses no relative ones); of a
    Snakemake file (the Snakefile, ``*.smk``), its top-level ``pipeline`` imports."""
    text = path.read_text() if path.suffix == ".py" else _import_statements(path.read_text())
    names = set()
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "pipeline"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # submodules: from pipeline import x
    return names


@cache
def _closure(path: Path, repo: Path) -> frozenset[Path]:
    """Every pipeline module file ``path`` imports, directly or through other pipeline modules of ``repo``."""
    found: set[Path] = set()
    pending = [path]
    while pending:
        for name in _imported(pending.pop()):
            module = _module_file(name, repo)
            if module is not None and module not in found:
                found.add(module)
                pending.append(module)
    return frozenset(found)


def files(*scripts: str, repo: Path = REPO) -> list[str]:
    """The pipeline module files (relative to ``repo``, sorted) that the given adapter scripts
    (``rules/scripts/train_run.py``) run, or that Snakemake files (``rules/common.smk``) import."""
    found: set[Path] = set()
    for script in scripts:
        found |= _closure(repo / script, repo)
    return sorted(str(p.relative_to(repo)) for p in found)
