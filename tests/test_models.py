"""The ResNet: parameter counts, layer numbering, every variant's training step, conv biases."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import nn

from pipeline import checkpoints, models
from pipeline.norms import NormSpec, PartialBatchNorm2d


def _model(params, variant, depth=110):
    return models.build(params["variants"][variant], params["model"], depth)


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet110_parameter_counts(params):
    assert _count(_model(params, "bn")) == 1_727_962  # ~1.73M, as in He et al. 2016
    assert _count(_model(params, "none")) == 1_723_914  # BN's gamma/beta replaced by conv biases


def test_layer_numbering(params):
    model = _model(params, "bn")
    assert isinstance(models.layer_module(model, 110), nn.Linear)
    assert models.layer_module(model, 1) is model.stem.conv
    assert models.layer_module(model, 2) is model.blocks[0].a.conv
    assert models.layer_module(model, 3) is model.blocks[0].b.conv
    assert models.layer_module(model, 109) is model.blocks[-1].b.conv
    assert all(isinstance(models.layer_module(model, k), nn.Conv2d) for k in range(1, 110))
    # Table 1's layers 18/54/90 lie 36 apart = one stage of 18 blocks x 2 convs: same place, stages 1, 2, 3.
    assert models.layer_module(model, 18).weight.shape == (16, 16, 3, 3)
    assert models.layer_module(model, 54).weight.shape == (32, 32, 3, 3)
    assert models.layer_module(model, 90).weight.shape == (64, 64, 3, 3)
    assert models.layer_module(model, 38).stride == (2, 2) and models.layer_module(model, 74).stride == (2, 2)
    with pytest.raises(IndexError, match=r"layers 1\.\.110"):
        models.layer_module(model, 111)
    assert models.layer_module(model, 0, stem_is_layer_1=False) is model.stem.conv
    assert isinstance(models.layer_module(model, 109, stem_is_layer_1=False), nn.Linear)


@pytest.mark.parametrize("depth", [7, 9, 111, 2])
def test_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match="6n\\+2"):
        models.ResNet(depth)


def test_every_variant_takes_a_training_step_on_cpu(params):
    torch.manual_seed(0)
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    for name in params["variants"]:
        model = models.initialize(_model(params, name, depth=8), "xavier_uniform", torch.Generator().manual_seed(0))
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        before = [p.detach().clone() for p in model.parameters()]
        for _ in range(2):  # two steps: the alternating variant computes, then reuses, its moments
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        assert torch.isfinite(loss), name
        assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)), name


def test_conv_bias_exactly_where_nothing_normalizes(params):
    for name in params["variants"]:
        model = _model(params, name, depth=8)
        for slot in model.conv_slots():
            assert (slot.conv.bias is not None) == isinstance(slot.norm, nn.Identity), name


def test_where_the_variants_normalize(params):
    def norms(model):
        return [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, PartialBatchNorm2d))]

    assert len(norms(_model(params, "bn"))) == 109
    assert norms(_model(params, "none")) == []
    top = _model(params, "bn_top")
    assert norms(top) == [top.top_norm]  # only after the last residual block, before pooling
    assert all(isinstance(n, PartialBatchNorm2d) and n.alternate for n in norms(_model(params, "alternating")))
    assert all(isinstance(n, nn.BatchNorm2d) for n in norms(_model(params, "bn")))


def test_initialization_is_xavier_and_seeded(params):
    model = models.initialize(_model(params, "bn"), "xavier_uniform", torch.Generator().manual_seed(0))
    weight = models.layer_module(model, 54).weight
    bound = (6 / (32 * 9 + 32 * 9)) ** 0.5  # Glorot uniform bound for a 32->32 3x3 conv
    assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound
    assert all(
        torch.equal(n.weight, torch.ones_like(n.weight)) for n in model.modules() if isinstance(n, nn.BatchNorm2d)
    )
    none = models.initialize(_model(params, "none"), "xavier_uniform", torch.Generator().manual_seed(0))
    assert torch.equal(models.layer_module(none, 54).weight, weight)  # same seed: same weights across variants
    assert torch.equal(models.layer_module(none, 54).bias, torch.zeros(32))
    other = models.initialize(_model(params, "bn"), "xavier_uniform", torch.Generator().manual_seed(1))
    assert not torch.equal(models.layer_module(other, 54).weight, weight)


# sha256 over every (key, tensor bytes) of the ResNet-110 initial states of seed 0, as built before the normalizers
# beyond the paper were added (commit 338a0f8 and this one agree): the paper's variants keep their weights bit for bit.
PAPER_STATES = {
    "bn": "555a4ad56bc20d5406c2401e801a6ccb65a9bab48f9c6f6056d3a7462a2e1ef8",
    "none": "07c5077b92b798a191558728b0090d87bb1bbe9d3b8cf5241356af8b76b8bede",
}


@pytest.mark.parametrize("variant", sorted(PAPER_STATES))
def test_the_papers_initial_checkpoints_are_unchanged(params, variant):
    state = checkpoints.initial_state(variant, params["variants"][variant], params["model"], 110, 0)["state_dict"]
    digest = hashlib.sha256()
    for key, tensor in state.items():
        digest.update(key.encode())
        digest.update(tensor.numpy().tobytes())
    assert digest.hexdigest() == PAPER_STATES[variant]


def test_a_skipinit_block_starts_as_its_shortcut(params):
    model = models.initialize(_model(params, "none_skipinit", depth=8), "xavier_uniform", torch.Generator())
    x = torch.rand(2, 16, 8, 8)  # a ReLU output: nonnegative
    for block in model.blocks:
        assert block.branch_scale is not None and block.branch_scale.alpha.item() == 0.0
        assert torch.equal(block(x), block.shortcut(x))  # the identity (subsampled and padded where it strides)
        x = block(x)
    assert all(block.branch_scale is None for block in _model(params, "none", depth=8).blocks)


def test_group_and_layer_variants_normalize_every_conv_with_groupnorm(params):
    for name, groups in (("gn", params["variants"]["gn"]["groups"]), ("ln", 1)):
        norms = [slot.norm for slot in _model(params, name).conv_slots()]
        assert len(norms) == 109 and all(isinstance(n, nn.GroupNorm) and n.num_groups == groups for n in norms)


def test_norm_spec_rejects_nonsense():
    with pytest.raises(ValueError, match="unknown norm parts"):
        NormSpec("every", frozenset({"alpha"}))
    with pytest.raises(ValueError, match="needs at least one part"):
        NormSpec("every", frozenset())
    with pytest.raises(ValueError, match="groups: a group norm needs its channel groups"):
        NormSpec(kind="group")
    with pytest.raises(ValueError, match="norm: a layer norm keeps all"):
        NormSpec(kind="layer", alternate=True)
