"""The pipeline modules a job runs, from the imports of its adapter script: the code inputs of each rule.

A rule lists the ``pipeline/`` files its job imports, directly or through other pipeline modules, as inputs, so
that editing a module reruns exactly the jobs that run it. They are read from the source (a static walk of the
``import`` statements with :mod:`ast`), never written by hand: a list kept by hand goes stale silently. A function
that the registry names (``pipeline.targets``: a family's ``decide`` or ``draw``) is imported at run time, so its
module is passed as a root beside the script.

Package ``__init__.py`` files are not listed: they hold only docstrings (a test keeps it so).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _module_file(name: str) -> Path | None:
    """The file of a ``pipeline`` module (``pipeline.analysis.gradients``), or None for a package or a name that is
    not a module (an attribute: ``from pipeline.claims import Check``)."""
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imported(path: Path) -> set[str]:
    """The ``pipeline`` module names one file imports (absolute imports; the project uses no relative ones)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.split(".")[0] == "pipeline"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # submodules: from pipeline import x
    return names


@cache
def _closure(path: Path) -> frozenset[Path]:
    """Every pipeline module file ``path`` imports, directly or through other pipeline modules."""
    found: set[Path] = set()
    pending = [path]
    while pending:
        for name in _imported(pending.pop()):
            module = _module_file(name)
            if module is not None and module not in found:
                found.add(module)
                pending.append(module)
    return frozenset(found)


def files(*roots: str) -> list[str]:
    """The pipeline module files (repository-relative, sorted) that the given roots run: script paths
    (``rules/scripts/train_run.py``) and module names or registry function names (``pipeline.plots.rmt:draw``).
    A root module is listed itself."""
    found: set[Path] = set()
    for root in roots:
        if root.endswith(".py"):
            found |= _closure(REPO / root)
        else:
            module = _module_file(root.split(":")[0])
            if module is None:
                raise ValueError(f"code input {root!r}: no such pipeline module")
            found |= {module, *_closure(module)}
    return sorted(str(p.relative_to(REPO)) for p in found)
