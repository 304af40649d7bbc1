"""Many runs packed into one grouped network train exactly as each run alone (to a stated tolerance)."""

from __future__ import annotations

import pytest
import torch
from conftest import RECIPE, fake_data, tiny_model

from pipeline import models
from pipeline.norms import NormSpec
from pipeline.train import packed
from pipeline.train.data import DeviceData
from pipeline.train.engine import train
from pipeline.train.runs import Run

# Stated tolerance: grouped convolutions and the packed SGD update sum in another order than the single-model
# kernels; losses stay within 1e-4 relative over 3 epochs of a small net, weights within 1e-4 absolute.
RTOL, ATOL = 1e-4, 1e-4
SPECS = {
    "every": NormSpec("every"),
    "none": NormSpec("none", frozenset()),
    "top": NormSpec("top"),
    "mu_s_alternating": NormSpec("every", frozenset({"mu", "sigma"}), alternate=True),
}


def _pair(spec: NormSpec) -> tuple[list[models.ResNet], models.ResNet]:
    singles = [
        models.initialize(models.ResNet(8, spec, widths=(4, 6, 8)), "xavier_uniform", torch.Generator().manual_seed(s))
        for s in (0, 1)
    ]
    packed_model = packed.PackedResNet(2, 8, spec, widths=(4, 6, 8))
    packed_model.load_state_dict(packed.pack_state([m.state_dict() for m in singles]))
    return singles, packed_model


def test_pack_and_unpack_are_inverse():
    states = [tiny_model(seed=s).state_dict() for s in (0, 1, 2)]
    for original, back in zip(states, packed.unpack_state(packed.pack_state(states), 3), strict=True):
        assert original.keys() == back.keys() and all(torch.equal(original[k], back[k]) for k in original)


@pytest.mark.parametrize("name", SPECS)
def test_packed_forward_is_each_model_on_its_own_input(name):
    singles, packed_model = _pair(SPECS[name])
    inputs = [torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(s)) for s in (5, 6)]
    for mode in ("train", "eval", "train"):  # train twice: the alternating norm reuses moments on the second
        for m in (*singles, packed_model):
            m.train(mode == "train")
        out = packed_model(packed.model_inputs(inputs))
        assert out.shape == (8, 2, 10)
        for g, (single, x) in enumerate(zip(singles, inputs, strict=True)):
            assert torch.allclose(out[:, g], single(x), rtol=1e-5, atol=1e-5), (name, mode, g)
    # each model's running statistics are its own
    for key, value in packed.unpack_state(packed_model.state_dict(), 2)[1].items():
        assert torch.allclose(value, singles[1].state_dict()[key], atol=1e-6), key


@pytest.mark.parametrize("where", ["every", "none"])
def test_packed_runs_train_like_each_run_alone(where, tmp_path):
    data = DeviceData.from_cifar(fake_data(96), torch.device("cpu"))
    lr = 0.05 if where == "every" else 0.01
    runs = [
        Run("bn" if where == "every" else "none", 8, lr, 3, 0),
        Run("bn" if where == "every" else "none", 8, lr / 5, 3, 1),
    ]
    model = packed.PackedResNet(2, 8, SPECS[where], widths=(4, 6, 8))
    model.load_state_dict(packed.pack_state([tiny_model(where, seed=r.seed).state_dict() for r in runs]))
    together = packed.train_packed(runs, RECIPE, model, data, log=lambda _l: None)
    for g, run in enumerate(runs):
        alone = train(run, RECIPE, tiny_model(where, seed=run.seed), data, tmp_path / f"{g}.pt", log=lambda _l: None)
        assert together.status[g] == alone.status
        got = {(r["epoch"], r["metric"]): r["value"] for r in together.rows[g]}
        expected = {(r["epoch"], r["metric"]): r["value"] for r in alone.rows if r["metric"] != "seconds"}
        assert got.keys() == expected.keys()
        assert got == pytest.approx(expected, rel=RTOL, abs=1e-6)
        for key, value in alone.state_dict.items():
            assert torch.allclose(together.states[g][key], value, rtol=RTOL, atol=ATOL), key


def test_a_diverging_packed_run_is_frozen_and_the_others_go_on(tmp_path):
    data = DeviceData.from_cifar(fake_data(96), torch.device("cpu"))
    runs = [Run("none", 8, 1e6, 2, 0), Run("none", 8, 0.01, 2, 1)]
    model = packed.PackedResNet(2, 8, SPECS["none"], widths=(4, 6, 8))
    model.load_state_dict(packed.pack_state([tiny_model("none", seed=r.seed).state_dict() for r in runs]))
    together = packed.train_packed(runs, RECIPE, model, data, log=lambda _l: None)
    exploded = train(runs[0], RECIPE, tiny_model("none", seed=0), data, tmp_path / "a.pt", log=lambda _l: None)
    assert together.status[0] == exploded.status == "diverged"
    assert together.detail[0]["step"] == exploded.detail["step"]
    assert together.detail[0]["loss"] == pytest.approx(exploded.detail["loss"], rel=RTOL)
    calm = train(runs[1], RECIPE, tiny_model("none", seed=1), data, tmp_path / "b.pt", log=lambda _l: None)
    assert together.status[1] == calm.status and all(torch.isfinite(v).all() for v in together.states[1].values())
    got = [r["value"] for r in together.rows[1] if r["metric"] == "test_acc"]
    assert got == pytest.approx([r["value"] for r in calm.rows if r["metric"] == "test_acc"], rel=RTOL)
