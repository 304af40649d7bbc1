"""What Tables 2 and 3 decide with fewer horizons or seeds: the claims recomputed from searches already built.

    uv run --locked python benchmarks/trainability_horizons.py --horizons 60,120 60 120 --seeds 0,1,2 0
    uv run --locked python benchmarks/trainability_horizons.py --horizons 60 --seeds 0,1,2 --checks

A search measures every horizon of ``trainability.horizons`` in the same trials, and every seed is a search of its
own, so a smaller design (the claims reading fewer horizons, or fewer seeds) is a subset of a build: no training.
For each combination of ``--horizons`` and ``--seeds`` it decides the claims exactly as the pipeline does
(:func:`pipeline.analysis.trainability.decide`, the profile's rules) from the searches in
``results/<profile>/trainability/`` and prints the tally of verdicts (``--checks``: every check). It is how the
profile's design was weighed against its cost (docs/training.md, "Tables 2 and 3"). A horizon the searches did not
measure, or a seed they lack, is an error naming it.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from types import SimpleNamespace

from pipeline import config, layout
from pipeline.analysis import trainability
from pipeline.artifacts import ArtifactError

REPO = Path(__file__).resolve().parent.parent


def numbers(text: str) -> list[int]:
    """``60,120`` -> [60, 120]."""
    return [int(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizons", type=numbers, nargs="+", required=True, help="e.g. 60,120 60 120")
    parser.add_argument("--seeds", type=numbers, nargs="+", required=True, help="e.g. 0,1,2 0")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--checks", action="store_true", help="print every check, not only the tally")
    args = parser.parse_args(argv)
    params = config.load(REPO / "params.yaml", {"profile": args.profile})
    built = params["trainability"]
    for horizons in args.horizons:
        if unmeasured := sorted(set(horizons) - set(built["horizons"])):
            parser.error(f"H = {unmeasured}: the searches measured H = {built['horizons']} only")
        for seeds in args.seeds:
            files = [
                str(REPO / layout.TRAINABILITY_SEARCH.format(profile=args.profile, variant=v, depth=d, seed=seed))
                for v, d in trainability.searches(built, params["variants"])
                for seed in seeds
            ]
            settings = config.deep_merge(params, {"trainability": {"horizons": horizons, "seeds": seeds}})
            decision = trainability.decide(SimpleNamespace(searches=files), settings, ["table2", "table3"])
            checks = [check for per_target in decision.checks.values() for check in per_target]
            tally = collections.Counter(check.verdict for check in checks)
            print(
                f"H = {'/'.join(map(str, horizons))}, seeds {','.join(map(str, seeds))}: {len(checks)} checks, "
                f"{tally['agrees']} agree, {tally['disagrees']} disagree, {tally['undecided']} undecided"
            )
            for check in checks if args.checks else ():
                spread = f" ± {check.spread:.2g}" if check.spread is not None else ""
                print(f"  {check.verdict:9}  {check.quantity}: {check.value:.3g}{spread} ({check.rule})")


if __name__ == "__main__":
    try:
        main()
    except ArtifactError as error:  # a search of that seed or row was not built
        sys.exit(f"error: {error}")
