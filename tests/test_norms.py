"""Each BN-parts variant normalizes exactly the parts it names; alternation reuses the latest moments; the group and
layer norms are what their references compute."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.norms import PARTS, NormSpec, PartialBatchNorm2d, norm_factory

torch.manual_seed(0)
X = 3.0 + 2.5 * torch.randn(16, 4, 6, 6)  # channel means ~3, stds ~2.5: far from what any norm produces


def _moments(x):
    var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
    return mean, var


def _norm(parts, **kwargs):
    return PartialBatchNorm2d(4, parts, **kwargs).train()


def test_all_parts_equal_torch_batchnorm_in_training_and_evaluation():
    ours, torchs = _norm(PARTS), nn.BatchNorm2d(4).train()
    with torch.no_grad():
        for module in (ours, torchs):
            module.weight.copy_(torch.tensor([0.5, 1.0, 2.0, -1.0]))
            module.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    for batch in (X, X * 2 - 1):
        assert torch.allclose(ours(batch), torchs(batch), atol=1e-5)
    assert torch.allclose(ours.running_mean, torchs.running_mean) and torch.allclose(
        ours.running_var, torchs.running_var
    )
    ours.eval(), torchs.eval()
    assert torch.allclose(ours(X), torchs(X), atol=1e-5)


def test_mu_only_centers():
    mean, var = _moments(_norm({"mu"})(X))
    assert torch.allclose(mean, torch.zeros(4), atol=1e-5)
    assert torch.allclose(var, _moments(X)[1])  # scale untouched


def test_sigma_only_scales():
    x_mean, x_var = _moments(X)
    mean, var = _moments(_norm({"sigma"})(X))
    assert torch.allclose(var, torch.ones(4), atol=1e-4)
    assert torch.allclose(mean, x_mean / torch.sqrt(x_var + 1e-5), atol=1e-5)  # not centered
    assert (mean.abs() > 0.5).all()


def test_mu_sigma_standardizes_without_affine():
    module = _norm({"mu", "sigma"})
    mean, var = _moments(module(X))
    assert torch.allclose(mean, torch.zeros(4), atol=1e-5) and torch.allclose(var, torch.ones(4), atol=1e-4)
    assert list(module.parameters()) == []


def test_affine_parts_are_the_parameters_they_name():
    assert _norm({"gamma", "mu", "sigma"}).bias is None and _norm({"gamma", "mu", "sigma"}).weight is not None
    assert _norm({"beta", "mu", "sigma"}).weight is None and _norm({"beta", "mu", "sigma"}).bias is not None
    module = _norm({"beta", "mu", "sigma"})
    with torch.no_grad():
        module.bias.fill_(0.7)
    assert torch.allclose(_moments(module(X))[0], torch.full((4,), 0.7), atol=1e-5)


def test_alternating_reuses_the_latest_moments_as_constants():
    module = _norm(PARTS, alternate=True)
    first, second = X, X * 3 + 5
    module(first)  # batch 0: computes moments of `first`
    out = module(second.requires_grad_())  # batch 1: reuses them
    mean, var = _moments(first)
    expected = (second - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + 1e-5)
    assert torch.allclose(out, expected, atol=1e-5)
    out.sum().backward()  # constants: d out / d x is just 1/sigma of the first batch
    assert torch.allclose(second.grad, (1 / torch.sqrt(var + 1e-5)).view(1, -1, 1, 1).expand_as(second), atol=1e-5)
    third = module(second.detach())  # batch 2: computes again, on its own moments
    assert torch.allclose(_moments(third)[0], torch.zeros(4), atol=1e-5)
    assert module.batches_seen.item() == 3


def test_standardizing_subsets_compute_eq_1_with_their_affine_and_running_statistics():
    """mu and sigma together take PyTorch's batch-norm kernel: eq. (1) with a missing gamma as 1, beta as 0."""
    gamma, beta = torch.tensor([0.5, 1.0, 2.0, -1.0]), torch.tensor([0.1, -0.2, 0.3, 0.0])
    reference = nn.BatchNorm2d(4).train()
    reference(X)
    mean, var = _moments(X)
    standardized = (X - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + 1e-5)
    for parts in ({"mu", "sigma"}, {"gamma", "mu", "sigma"}, {"beta", "mu", "sigma"}):
        module = _norm(parts)
        with torch.no_grad():
            if module.weight is not None:
                module.weight.copy_(gamma)
            if module.bias is not None:
                module.bias.copy_(beta)
        scale = gamma if "gamma" in parts else torch.ones(4)
        shift = beta if "beta" in parts else torch.zeros(4)
        expected = standardized * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)
        assert torch.allclose(module(X), expected, atol=1e-5)
        assert torch.allclose(module.running_mean, reference.running_mean)
        assert torch.allclose(module.running_var, reference.running_var)
        module.eval()
        running = (X - module.running_mean.view(1, -1, 1, 1)) / torch.sqrt(module.running_var.view(1, -1, 1, 1) + 1e-5)
        assert torch.allclose(module(X), running * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1), atol=1e-5)


def test_mu_only_keeps_the_running_variance_out_of_the_gradient():
    module, x = _norm({"mu"}), X.clone().requires_grad_()
    module(x).sum().backward()  # d/dx of sum(x - mean) is 0 for every element
    assert torch.allclose(x.grad, torch.zeros_like(x), atol=1e-5)
    assert torch.allclose(module.running_var, 0.9 + 0.1 * X.var(dim=(0, 2, 3), correction=1))


def _affine(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        module.weight.copy_(torch.tensor([0.5, 1.0, 2.0, -1.0]))
        module.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    return module


def test_group_norm_standardizes_each_image_over_each_channel_group():
    norm = _affine(norm_factory(NormSpec(kind="group", groups=2), 1e-5, 0.1)(4))
    grouped = X.reshape(16, 2, 2 * 6 * 6)  # image, group, (channels of the group x positions)
    var, mean = torch.var_mean(grouped, dim=2, keepdim=True, correction=0)
    reference = ((grouped - mean) / torch.sqrt(var + 1e-5)).reshape_as(X)
    reference = reference * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
    assert torch.allclose(norm(X), reference, atol=1e-5)
    assert torch.allclose(norm(X), F.group_norm(X, 2, norm.weight, norm.bias, 1e-5), atol=1e-6)
    assert torch.equal(norm.eval()(X[:1]), norm.train()(X)[:1])  # no batch statistics: each image on its own


def test_layer_norm_is_pytorchs_layer_norm_over_the_channels_and_positions_with_a_per_channel_affine():
    norm = _affine(norm_factory(NormSpec(kind="layer"), 1e-5, 0.1)(4))
    reference = F.layer_norm(X, X.shape[1:], eps=1e-5) * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
    assert torch.allclose(norm(X), reference, atol=1e-5)


def test_a_batch_norm_spec_builds_the_papers_layers_as_before():
    assert isinstance(norm_factory(NormSpec(), 1e-5, 0.1)(4), nn.BatchNorm2d)
    partial = norm_factory(NormSpec(parts=frozenset({"mu"})), 1e-5, 0.1)(4)
    assert isinstance(partial, PartialBatchNorm2d) and partial.parts == {"mu"}
