"""Load params.yaml, apply a profile and command-line overrides, and validate the result.

The effective parameters are the file's top level, then the overlay ``profiles.<profile>``, then the overrides
(Snakemake's ``--config``). Every layer is checked against ``params.schema.yaml`` plus the few rules a schema
cannot express, and the first problem is raised as one line that names the file and the dotted key, e.g.
``params.yaml: key 'model.depth': 111 is not a CIFAR ResNet depth (6n+2)``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pipeline.norm_spec import spec_problem

SCHEMA = yaml.safe_load(resources.files("pipeline").joinpath("params.schema.yaml").read_text())


class ParamsError(ValueError):
    """A parameter file, profile or override that cannot be used; the message is one line naming the key."""


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``overlay``: nested mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def typed_overrides(overrides: Any) -> Any:
    """Command-line overrides with their string leaves read again as YAML scalars.

    Snakemake parses a nested ``--config key='{depth: 8}'`` with YAML's BaseLoader, which leaves every scalar a
    string ('8'); reading each string leaf with the safe loader gives back 8, 0.1, true or null.
    """
    if isinstance(overrides, Mapping):
        return {key: typed_overrides(value) for key, value in overrides.items()}
    if isinstance(overrides, list):
        return [typed_overrides(value) for value in overrides]
    if isinstance(overrides, str):
        try:
            value = yaml.safe_load(overrides)
        except yaml.YAMLError:
            return overrides
        return value if value is None or isinstance(value, (bool, int, float)) else overrides
    return overrides


def _has_path(tree: Any, path: tuple) -> bool:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _schema_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """The first schema violation as (key path, message), or None. Deterministic: the shallowest, then by key."""
    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(params),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path], e.message),
    )
    if not errors:
        return None
    error = errors[0]
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return (*path, extra[0]), "unknown key (not in pipeline/params.schema.yaml)"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return (*path, missing[0]), "missing"
    return path, error.message


def _rule_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """Checks a JSON schema cannot express."""
    depth = params["model"]["depth"]
    if (depth - 2) % 6:
        return ("model", "depth"), f"{depth} is not a CIFAR ResNet depth (6n+2, e.g. 110, 56, 32, 8)"
    milestones = params["train"]["lr_milestones"]
    if list(milestones) != sorted(set(milestones)):
        return ("train", "lr_milestones"), f"{milestones} must be strictly increasing"
    convs = depth - 1  # conv layers of a 6n+2 ResNet; the linear layer is the last weight layer
    first = 1 if params["contradictions"]["stem_is_layer_1"] else 0
    for section in ("gradients", "activations"):
        for key, value in params["probes"][section].items():
            if not key.endswith(("_layer", "_layers")):
                continue
            for layer in value if isinstance(value, list) else [value]:
                if not first <= layer < first + convs:
                    return ("probes", section, key), f"layer {layer} is not a conv layer of ResNet-{depth}"
    if params["probes"]["activations"]["fig18_layer"] == first:
        return ("probes", "activations", "fig18_layer"), "the stem reads the image, not a ReLU output"
    factors = params["rmt"]["spectrum_factors"]
    if list(factors) != sorted(set(factors)):
        return ("rmt", "spectrum_factors"), f"{factors} must be strictly increasing"
    for key in ("variants", "fig3_beside"):
        for name in params["probes"][key]:
            if name not in params["variants"]:
                return ("probes", key), f"'{name}' is not a key of 'variants'"
    return (
        _variant_problem(params)
        or _training_problem(params)
        or _stability_problem(params)
        or _normalizers_problem(params)
        or _trainability_problem(params)
    )


def _variant_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """Every variant's normalizer settings go together (pipeline.norm_spec.spec_problem), and a group norm's
    groups divide every width of the network."""
    for name, v in params["variants"].items():
        problem = spec_problem(
            v["where"], v["parts"], v.get("alternate", False), v.get("norm", "batch"), v.get("groups")
        )
        if problem:
            return ("variants", name, problem[0]), problem[1]
        uneven = [w for w in params["model"]["widths"] if "groups" in v and w % v["groups"]]
        if uneven:
            return ("variants", name, "groups"), f"{v['groups']} groups do not divide the width {uneven[0]}"
    return None


def _networks_problem(params: Mapping[str, Any], section: str) -> tuple[tuple, str] | None:
    """A section that names networks (``variants``) at ``depths``: each a key of ``variants``, each depth 6n+2."""
    for name in params[section]["variants"]:
        if name not in params["variants"]:
            return (section, "variants"), f"'{name}' is not a key of 'variants'"
    bad = [d for d in params[section]["depths"] if (d - 2) % 6]
    if bad:
        return (section, "depths"), f"{bad[0]} is not a CIFAR ResNet depth (6n+2)"
    return None


def _stability_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """The stability search's depths are ResNet depths, its grid increases, and its claims read searched depths."""
    s = params["stability"]
    problem = _networks_problem(params, "stability")
    if problem:
        return problem
    for key in ("depths", "lrs"):
        if list(s[key]) != sorted(set(s[key])):
            return ("stability", key), f"{s[key]} must be strictly increasing"
    rules = params["figures"]["stability"]
    for key in ("from_depth", "to_depth"):
        if rules[key] not in s["depths"]:
            return ("figures", "stability", key), f"{rules[key]} is not one of stability.depths {s['depths']}"
    return None


def _normalizers_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """The normalizers target compares variants that exist at ResNet depths, and its claims name compared variants
    and depths."""
    n = params["normalizers"]
    problem = _networks_problem(params, "normalizers")
    if problem:
        return problem
    if list(n["depths"]) != sorted(set(n["depths"])):
        return ("normalizers", "depths"), f"{n['depths']} must be strictly increasing"
    rules = params["figures"]["normalizers"]
    for key in ("growth_within", "fall_within"):
        unknown = [name for name in rules[key] if name not in n["variants"]]
        if unknown:
            return ("figures", "normalizers", key), f"{unknown} are not in normalizers.variants {n['variants']}"
    for key in ("from_depth", "to_depth"):
        if rules[key] not in n["depths"]:
            return ("figures", "normalizers", key), f"{rules[key]} is not one of normalizers.depths {n['depths']}"
    return None


def _trainability_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """The searches' variants exist at ResNet depths, the grid and horizons increase, every paper rate a row is
    checked against is a grid point, and App. J's extra rates go to a searched row."""
    t = params["trainability"]
    for key in ("grid", "horizons"):
        if list(t[key]) != sorted(set(t[key])):
            return ("trainability", key), f"{t[key]} must be strictly increasing"
    rows = [("table2", "variants", {"variant": v, "depth": t["table2"]["depth"]}) for v in t["table2"]["variants"]]
    rows += [("table3", "rows", r) for r in t["table3"]["rows"]]
    for table, key, row in rows:
        where = ("trainability", table, key)
        if row["variant"] not in params["variants"]:
            return where, f"'{row['variant']}' is not a key of 'variants'"
        if (row["depth"] - 2) % 6:
            return where, f"depth {row['depth']} is not a CIFAR ResNet depth (6n+2)"
        paper = row.get("paper_lr") if table == "table3" else params["variants"][row["variant"]]["lr"]
        if paper is not None and paper not in t["grid"]:
            return where, f"{row['variant']}'s paper rate {paper:g} is not in trainability.grid {t['grid']}"
    extra = t["table3"]["stability"]
    if (extra["variant"], extra["depth"]) not in {(r["variant"], r["depth"]) for _, _, r in rows}:
        return ("trainability", "table3", "stability"), "names a variant and depth that no row searches"
    if list(extra["lrs"]) != sorted(set(extra["lrs"])):
        return ("trainability", "table3", "stability", "lrs"), f"{extra['lrs']} must be strictly increasing"
    if set(extra["lrs"]) & set(t["grid"]):
        return ("trainability", "table3", "stability", "lrs"), "the grid's rates are the search's; name others"
    labels = {"table2": set(t["table2"]["variants"]), "table3": {r["label"] for r in t["table3"]["rows"]}}
    for table, rules in ((table, params["figures"][table]) for table in labels):
        for key, value in rules.items():
            named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            unknown = [label for label in named if label not in labels[table]]
            if unknown:
                return ("figures", table, key), f"{unknown} are not rows of trainability.{table}"
    return None


def _training_problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    """Every variant a training experiment names exists; every depth it sets is 6n+2."""
    sections = {target: section for target, section in params["training"].items() if isinstance(section, Mapping)}
    for target, section in sections.items():
        for key, value in section.items():
            specs = value if isinstance(value, list) else [value]
            for spec in specs:
                if isinstance(spec, str):
                    spec = {"variant": spec}
                if not isinstance(spec, Mapping) or "variant" not in spec:
                    continue
                if spec["variant"] not in params["variants"]:
                    return ("training", target, key), f"'{spec['variant']}' is not a key of 'variants'"
                if "depth" in spec and (spec["depth"] - 2) % 6:
                    return ("training", target, key), f"depth {spec['depth']} is not a CIFAR ResNet depth (6n+2)"
    return None


def _problem(params: Mapping[str, Any]) -> tuple[tuple, str] | None:
    return _schema_problem(params) or _rule_problem(params)


def _fail(source: str, path: tuple, message: str) -> ParamsError:
    return ParamsError(f"{source}: key '{_dotted(path)}': {message}")


def config_form(path: tuple) -> str:
    """How the command line sets the nested key ``path``: Snakemake's ``--config`` takes top-level names only (it
    refuses ``train.seeds=...`` before the workflow loads), with a YAML mapping as the value."""
    value = "VALUE"
    for part in reversed(path[1:]):
        value = f"{{{part}: {value}}}"
    return f"--config '{path[0]}={value}'" if path else "--config KEY=VALUE"


def resolve(raw: Mapping[str, Any], source: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate ``raw`` (the parsed file), each of its profiles, and the overrides; return the effective params.

    The returned mapping has no ``profiles`` key: it is exactly what the active profile computes with.
    """
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{source}: the file must hold a mapping of keys, not {type(raw).__name__}")
    problem = _problem(raw)
    if problem:
        raise _fail(source, *problem)
    base = {k: v for k, v in raw.items() if k != "profiles"}
    for name, overlay in raw["profiles"].items():
        problem = _problem({**deep_merge(base, overlay), "profiles": raw["profiles"]})
        if problem:
            path, message = problem
            prefix = ("profiles", name) if _has_path(overlay, path) else ()
            raise _fail(source, (*prefix, *path), f"{message} (with profile '{name}')")
    overrides = typed_overrides(dict(overrides or {}))
    profile = overrides.get("profile", raw["profile"])
    if profile not in raw["profiles"]:
        raise _fail(f"{source} (--config)", ("profile",), f"'{profile}' is not one of {sorted(raw['profiles'])}")
    effective = deep_merge(deep_merge(base, raw["profiles"][profile]), overrides)
    problem = _problem({**effective, "profiles": raw["profiles"]})
    if problem:
        path, message = problem
        if not _has_path(overrides, path):
            raise _fail(source, path, f"{message} (with profile '{profile}')")
        form = "" if message.startswith("unknown key") else f"; the form that works: {config_form(path)}"
        raise _fail(f"{source} (--config)", path, f"{message} (with profile '{profile}'{form})")
    return effective


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read and resolve a params file; every problem is a one-line :class:`ParamsError`."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ParamsError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ParamsError(f"{path}: not valid YAML{line}: {getattr(exc, 'problem', exc)}") from exc
    return resolve(raw, str(path), overrides)


def at(params: Mapping[str, Any], key: str) -> Any:
    """The value at a slash-separated key of the effective params (``probes/variants``), as Snakemake's
    ``lookup(dpath=...)`` reads it."""
    value: Any = params
    for part in key.split("/"):
        value = value[part]
    return value
