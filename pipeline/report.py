"""One self-contained HTML report of the reproduction: ``python -m pipeline.report [--profile P] [--out F]``.

Each aggregate Snakemake target (``all``, ``without_training``, ``training``) writes ``figures/report.html`` from
exactly its declared inputs: every figure it built (the SVG embedded as a data URI, so nothing is fetched and
the figures' element ids cannot clash), every table (from its Parquet twin), every claim check (the paper's
claim, the reproduced number, the rule and whether they agree) and the provenance each claim file carries
(profile, code version, data digest and md5 sums, parameters), and it names the targets it did not build. The
command line gathers whatever exists so far, so it can be made at any point of a long run. No script, no
external resource: one file to mail or archive.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline import atomic, cifar10, claims, parquet
from pipeline import config as params_file
from pipeline import targets as registry


@dataclass
class Target:
    """A figure or table of the paper and what the report shows of it."""

    name: str
    image: Path | None = None
    table: Path | None = None
    claims: pl.DataFrame | None = None
    provenance: dict = field(default_factory=dict)


def _order(name: str) -> tuple[int, str]:
    """The registry's order (pipeline.targets: family by family, as the paper groups them), then names it lacks."""
    order = list(registry.TARGETS)
    return (order.index(name), "") if name in registry.TARGETS else (len(order), name)


def collect(
    figures: list[Path], tables: list[Path], claim_files: list[Path], only: set[str] | None = None
) -> list[Target]:
    """The targets of the given files (figure SVGs, table Parquet twins, claim Parquet files), restricted to the
    names in ``only`` when given: a claim file may cover targets that were not asked for."""
    targets: dict[str, Target] = {}

    def target(name: str) -> Target | None:
        return None if only is not None and name not in only else targets.setdefault(name, Target(name))

    for svg in figures:
        if (t := target(Path(svg).stem)) is not None:
            t.image = Path(svg)
    for table in tables:
        if (t := target(Path(table).stem)) is not None:
            t.table = Path(table)
    for claims_file in claim_files:
        checks = parquet.read(claims_file)
        record = parquet.provenance(claims_file)
        for (name,), rows in checks.group_by("target", maintain_order=True):
            if (t := target(name)) is not None:
                t.claims, t.provenance = rows, record
    return sorted(targets.values(), key=lambda t: _order(t.name))


def found(root: Path, profile: str) -> list[Target]:
    """Every figure and table found under ``root`` so far, with the claim checks and provenance of ``profile``
    (the command-line report, made at any point of a long run)."""
    return collect(
        sorted((root / "figures").glob("*.svg")),
        sorted((root / "tables").glob("*.parquet")),
        sorted((root / "results" / profile / "claims").glob("*.parquet")),
    )


def _claims_table(checks: pl.DataFrame) -> str:
    rows = "".join(
        f"<tr class='{row['verdict']}'><td>{html.escape(row['target'])}</td>"
        f"<td>{html.escape(row['claim'])}</td><td>{html.escape(row['quantity'])}</td>"
        f"<td class='num'>{row['value']:.4g}</td><td>{html.escape(row['rule'])}</td>"
        f"<td>{claims.SHOUTED[row['verdict']]}</td></tr>"
        for row in checks.iter_rows(named=True)
    )
    head = (
        "<tr><th>target</th><th>paper's claim</th><th>reproduced quantity</th><th>value</th><th>rule</th><th></th></tr>"
    )
    return f"<table class='claims'>{head}{rows}</table>"


def _data_table(path: Path) -> str:
    frame = parquet.read(path)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    cells = (
        "".join(f"<td>{html.escape(f'{v:.4g}' if isinstance(v, float) else str(v))}</td>" for v in row)
        for row in frame.iter_rows()
    )
    return f"<table class='data'><tr>{head}</tr>{''.join(f'<tr>{c}</tr>' for c in cells)}</table>"


def _provenance(record: dict) -> str:
    """Code version, data and the parameters of one claim file, folded."""
    if not record:
        return (
            "<p class='missing'>No claim check of this profile covers it (made with another profile? Its "
            "subtitle says which).</p>"
        )
    data = record.get("data", {})
    data_line = (
        f"data {html.escape(str(data.get('source')))} "
        f"({'canonical CIFAR-10' if data.get('canonical') else 'NOT the canonical CIFAR-10 files'})"
    )
    detail = {key: record[key] for key in ("params", "rules") if key in record}
    detail["data digest"] = cifar10.digest(data.get("md5", {}))
    detail["data md5"] = data.get("md5", {})
    return (
        f"<p class='prov'>profile {html.escape(str(record.get('profile')))} · code "
        f"{html.escape(str(record.get('code_version')))} · {data_line}</p><details><summary>parameters and data "
        f"checksums</summary><pre>{html.escape(json.dumps(detail, indent=1))}</pre></details>"
    )


def _family(target: Target) -> str:
    """The report section a target belongs to: its family's title in the registry."""
    known = registry.TARGETS.get(target.name)
    return registry.FAMILIES[known.family].title if known else "Other"


def _section(target: Target) -> str:
    known = registry.TARGETS.get(target.name)
    caption = f"<p class='caption'>{html.escape(known.caption)}</p>" if known else ""
    parts = [f"<section id='{target.name}'><h3>{target.name}</h3>{caption}"]
    if target.image is not None:
        encoded = base64.b64encode(target.image.read_bytes()).decode()
        parts.append(f"<img alt='{target.name}' src='data:image/svg+xml;base64,{encoded}'>")
    if target.table is not None:
        parts.append(_data_table(target.table))
    if target.claims is not None:
        parts.append(_claims_table(target.claims))
    parts.append(_provenance(target.provenance))
    return "".join(parts) + "</section>"


STYLE = """
body { font: 14px/1.4 sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.agrees td:last-child { color: #1a7f37; } tr.disagrees td { background: #fde8e8; }
tr.undecided td { background: #fff6d6; }
img { max-width: 100%; border: 1px solid #eee; }
section { margin-top: 2em; } .prov, .missing { color: #555; } nav a { margin-left: 0.6em; }
h2.family { margin-top: 2em; border-bottom: 2px solid #888; } .caption { max-width: 60em; }
"""


def _code_spans(text: str) -> str:
    """Escape ``text`` for HTML, showing its `command` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def render(targets: list[Target], profile: str, title: str = "", not_built: str = "") -> str:
    """The report's HTML: what it covers (``title``, and ``not_built``: the targets it leaves out, in words), a
    summary of the claim checks, then one section per figure and table."""
    checks = [t.claims for t in targets if t.claims is not None]
    every = pl.concat(checks) if checks else None
    tally = "no claim checks." if every is None else claims.tally(every)
    summary = f"<p>{len(targets)} figures and tables; {html.escape(tally)}</p>"
    open_checks = None if every is None else every.filter(pl.col("verdict") != "agrees")
    disagreeing = _claims_table(open_checks) if open_checks is not None and open_checks.height else ""
    families = {_family(t): [u for u in targets if _family(u) == _family(t)] for t in targets}
    nav = "".join(
        f"<nav><b>{html.escape(family)}</b>: "
        + "".join(f"<a href='#{t.name}'>{t.name}</a>" for t in members)
        + "</nav>"
        for family, members in families.items()
    )
    body = "".join(
        f"<h2 class='family'>{html.escape(family)}</h2>" + "".join(_section(t) for t in members)
        for family, members in families.items()
    )
    scope = f"<p>{_code_spans(title)}</p>" if title else ""
    missing = f"<p class='missing'>{_code_spans(not_built)}</p>" if not_built else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Understanding Batch Normalization: reproduction report ({html.escape(profile)})</title>"
        f"<style>{STYLE}</style></head><body><h1>Understanding Batch Normalization: reproduction report</h1>"
        f"<p>Profile <b>{html.escape(profile)}</b>.</p>{scope}{missing}{summary}"
        + (f"<h2>Claims that disagree or stay undecided</h2>{disagreeing}" if disagreeing else "")
        + nav
        + body
        + "</body></html>"
    )


def write(targets: list[Target], profile: str, out: Path, title: str = "", not_built: str = "") -> None:
    """Render ``targets`` and write ``out`` atomically."""
    atomic.write_text(out, render(targets, profile, title, not_built))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="the profile whose claims are shown (default: params.yaml's)")
    parser.add_argument("--out", type=Path, default=Path("figures/report.html"))
    args = parser.parse_args(argv)
    profile = args.profile or params_file.load("params.yaml", {})["profile"]
    shown = found(Path("."), profile)
    write(shown, profile, args.out, "Everything found under figures/ and tables/ so far.")
    print(f"{args.out}: {len(shown)} figures and tables")


if __name__ == "__main__":
    main()
