"""params.yaml validation: every profile valid; bad keys, types and ranges stop with one line naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipeline import config
from tests.conftest import REPO

RAW = yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_profile_resolves(profile):
    params = config.load(REPO / "params.yaml", {"profile": profile})
    assert params["profile"] == profile and "profiles" not in params


def test_paper_values_and_contradictions_are_explicit(params):
    assert params["model"]["depth"] == 110 and params["train"]["batch_size"] == 128
    assert params["train"]["momentum"] == 0.9 and params["contradictions"]["weight_decay"] == 5e-4
    paper_grid = {0.1, 0.003, 0.001, 0.0003, 0.0001, 0.00003}  # App. J's set, plus the rates the paper reports
    assert set(params["trainability"]["grid"]) == paper_grid | {0.01, 0.03}
    assert params["trainability"]["table2"]["depth"] == 110
    assert params["variants"]["none"]["epochs"] == params["contradictions"]["unnormalized_epochs"] == 2400
    assert set(params["contradictions"]) == {"weight_decay", "epoch_rule", "unnormalized_epochs", "stem_is_layer_1"}


def test_smoke_profile_overlays_only_what_it_names():
    smoke = config.load(REPO / "params.yaml", {"profile": "smoke"})
    assert smoke["model"]["depth"] == 8 and smoke["model"]["init"] == "xavier_uniform"


def _error(raw, overrides=None) -> str:
    with pytest.raises(config.ParamsError) as info:
        config.resolve(raw, "params.yaml", overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def _edited(path: str, value):
    raw = copy.deepcopy(RAW)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("model.dpth", 3, "key 'model.dpth': unknown key"),
        ("model.depth", "110", "key 'model.depth': '110' is not of type 'integer'"),
        ("model.depth", 111, "key 'model.depth': 111 is not a CIFAR ResNet depth"),
        ("probes.batches", 0, "key 'probes.batches': 0 is less than the minimum of 1"),
        ("train.momentum", 1.5, "key 'train.momentum'"),
        ("variants.bn.where", "all", "key 'variants.bn.where'"),
        ("variants.bn.parts", ["gamma", "alpha"], "key 'variants.bn.parts.1'"),
        ("contradictions.epoch_rule", "guess", "key 'contradictions.epoch_rule'"),
        ("train.lr_milestones", [0.75, 0.5], "key 'train.lr_milestones'"),
        ("probes.variants", ["bn", "nonexistent"], "key 'probes.variants'"),
        ("training.fig1.curves", [{"variant": "none", "lr": "fast"}], "key 'training.fig1.curves.0.lr'"),
        ("training.slow_lr", 0, "key 'training.slow_lr'"),
        ("trainability.grid", [0.1, 0.01], "key 'trainability.grid': [0.1, 0.01] must be strictly increasing"),
        ("trainability.table2.depth", 100, "key 'trainability.table2.variants': depth 100 is not a CIFAR ResNet"),
        ("trainability.table2.variants", ["bn", "xn"], "key 'trainability.table2.variants': 'xn' is not a key"),
        ("variants.bn.norm", "instance", "key 'variants.bn.norm': 'instance' is not one of"),
        ("variants.bn.branch_init", "fixup", "key 'variants.bn.branch_init': 'fixup' is not one of"),
        ("variants.gn.groups", 5, "key 'variants.gn.groups': 5 groups do not divide the width 16"),
        ("variants.bn.groups", 4, "key 'variants.bn.groups': a group norm needs its channel groups"),
        ("variants.ln.parts", ["gamma", "mu", "sigma"], "key 'variants.ln.norm': a layer norm keeps all"),
        ("variants.none.norm", "group", "key 'variants.none.norm': a network without normalization"),
        ("variants.s.lr", 0.02, "s's paper rate 0.02 is not in trainability.grid"),
        ("trainability.table3.stability.lrs", [0.1, 10.0], "the grid's rates are the search's; name others"),
        ("trainability.table3.stability.depth", 20, "key 'trainability.table3.stability': names a variant and depth"),
        ("figures.table3.warm_vs_cold", ["warm", "cold"], "['warm', 'cold'] are not rows of trainability.table3"),
        ("figures.table2.one_moment", ["s", "mu", "x"], "key 'figures.table2.one_moment': ['x'] are not rows"),
        ("normalizers.variants", ["bn", "fixup"], "key 'normalizers.variants': 'fixup' is not a key of 'variants'"),
        ("normalizers.depths", [20, 100], "key 'normalizers.depths': 100 is not a CIFAR ResNet depth"),
        ("normalizers.depths", [110, 20], "key 'normalizers.depths': [110, 20] must be strictly increasing"),
        ("figures.normalizers.fall_within", ["gn", "s"], "key 'figures.normalizers.fall_within': ['s'] are not in"),
        ("figures.normalizers.to_depth", 32, "key 'figures.normalizers.to_depth': 32 is not one of normalizers.depths"),
        ("figures.normalizers.max_rank_correlation", -2, "key 'figures.normalizers.max_rank_correlation'"),
    ],
)
def test_bad_values_in_the_file_name_file_and_key(path, value, expected):
    message = _error(_edited(path, value))
    assert message.startswith("params.yaml: ") and expected in message


def test_a_group_norm_without_its_groups_is_named():
    raw = copy.deepcopy(RAW)
    del raw["variants"]["gn"]["groups"]
    assert "key 'variants.gn.groups': a group norm needs its channel groups (groups: G)" in _error(raw)


def test_missing_key_is_named():
    raw = copy.deepcopy(RAW)
    del raw["probes"]["batch_size"]
    assert "key 'probes.batch_size': missing" in _error(raw)


def test_bad_profile_overlay_is_named_with_its_profile():
    raw = _edited("profiles.smoke", {"model": {"depth": 9}})
    assert "key 'profiles.smoke.model.depth'" in _error(raw)


def test_overrides_are_validated_and_attributed():
    assert _error(RAW, {"probes": {"batches": -2}}).startswith("params.yaml (--config): key 'probes.batches'")
    assert "key 'profile'" in _error(RAW, {"profile": "gpu"})


def test_a_bad_override_shows_the_nested_form_that_works_on_the_command_line():
    """Snakemake's --config refuses a dotted key (train.seeds=...) before the workflow loads; the nested form works."""
    message = _error(RAW, {"train": {"seeds": "abc"}})
    assert "\n" not in message and message.endswith("the form that works: --config 'train={seeds: VALUE}')")
    assert config.config_form(("train", "plateau", "window")) == "--config 'train={plateau: {window: VALUE}}'"
    assert "form that works" not in _error(RAW, {"train": {"lr": 0.1}})  # an unknown key has no working form


def test_string_overrides_from_snakemake_are_typed():
    typed = {"profile": "smoke", "model": {"depth": "14"}, "probes": {"batches": "3"}}
    params = config.resolve(RAW, "params.yaml", typed)
    assert params["model"]["depth"] == 14 and params["probes"]["batches"] == 3
    assert config.resolve(RAW, "params.yaml", {"cifar10_root": "../x"})["cifar10_root"] == "../x"


def test_layers_must_exist_at_the_depth():
    message = _error(RAW, {"model": {"depth": 56}})
    assert "key 'probes.gradients.table1_layers': layer 90 is not a conv layer of ResNet-56" in message


def test_override_wins_over_profile():
    params = config.resolve(RAW, "params.yaml", {"profile": "smoke", "model": {"depth": 14}})
    assert params["model"]["depth"] == 14


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(config.ParamsError, match="cannot be read"):
        config.load(tmp_path / "nope.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("model: {depth: [\n")
    with pytest.raises(config.ParamsError, match=r"params.yaml: not valid YAML at line \d+"):
        config.load(broken)


def test_activation_layers_are_checked_too():
    message = _error(RAW, {"profile": "smoke", "probes": {"activations": {"fig13_layers": [2, 40]}}})
    assert "key 'probes.activations.fig13_layers': layer 40 is not a conv layer of ResNet-8" in message
    message = _error(RAW, {"profile": "smoke", "probes": {"activations": {"fig18_layer": 1}}})
    assert "key 'probes.activations.fig18_layer': the stem reads the image, not a ReLU output" in message
