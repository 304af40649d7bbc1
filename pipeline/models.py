"""The CIFAR ResNet of He et al. 2016 (depth 6n+2) for every variant of the paper.

Parameter counts (checked by tests): ResNet-110 with BN 1,727,962; without BN (convs get a bias) 1,723,914.

Shape: conv3x3(3->16), three stages of n basic blocks with 16/32/64 channels (the first block of stages 2 and 3
has stride 2; its shortcut is the parameter-free identity, subsampled by 2, with zero channels appended),
global average pooling, linear 64->10. A basic block is conv-norm-relu-conv-norm, add the shortcut, relu.

Every conv is followed by a *norm slot*: the normalization layer, or ``nn.Identity`` where the variant does
not normalize there. Probes hook the slots, so "the input of each norm position" (what BN measures, or would
measure) is found the same way for every variant. A conv has a bias exactly when its slot is an identity.
Layer k (the paper's numbering) is the k-th weight layer in forward order: :func:`weight_layers`.

Beyond the paper, ``skipinit`` (De and Smith 2020, SkipInit) multiplies each residual branch by a learnable scalar
that starts at 0, so that every block starts as its shortcut. The paper's variants have no such scalar (their
modules and weights are those of the paper's network, byte for byte).

This file is the paper's network and its variants, nothing else. Many copies trained side by side as one grouped
network (a GPU speed experiment) are built from it in pipeline/train/packed.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.norms import NormSpec, norm_factory


def num_blocks(depth: int) -> int:
    """n of a 6n+2 ResNet."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth {depth} is not a CIFAR ResNet depth (6n+2, n >= 1)")
    return (depth - 2) // 6


class ConvSlot(nn.Module):
    """A 3x3 conv and the norm slot that follows it (a bias only where nothing normalizes the output)."""

    def __init__(self, cin: int, cout: int, stride: int, make_norm):
        super().__init__()
        self.norm = make_norm(cout) if make_norm else nn.Identity()
        has_norm = not isinstance(self.norm, nn.Identity)
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not has_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class BranchScale(nn.Module):
    """SkipInit's learnable scalar at the end of a residual branch, initialized to 0 (``initialize`` leaves it)."""

    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * x


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, make_norm, skipinit: bool = False):
        super().__init__()
        self.a = ConvSlot(cin, cout, stride, make_norm)
        self.b = ConvSlot(cout, cout, 1, make_norm)
        self.act_a, self.act_out = nn.ReLU(), nn.ReLU()  # modules, so probes can hook the pre-ReLU tensors
        self.stride, self.extra_channels = stride, cout - cin
        self.branch_scale = BranchScale() if skipinit else None  # no module at all for the paper's variants

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """The parameter-free identity shortcut: subsampled by the stride, zero channels appended."""
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.b(self.act_a(self.a(x)))
        if self.branch_scale is not None:
            branch = self.branch_scale(branch)
        return self.act_out(branch + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet; ``norm`` says where and how it normalizes (see :class:`pipeline.norms.NormSpec`),
    ``skipinit`` whether each residual branch ends in SkipInit's scalar."""

    def __init__(
        self,
        depth: int = 110,
        norm: NormSpec | None = None,
        widths=(16, 32, 64),
        num_classes: int = 10,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
        skipinit: bool = False,
    ):
        super().__init__()
        norm = norm or NormSpec()
        n = num_blocks(depth)
        self.depth, self.norm_spec, self.num_classes = depth, norm, num_classes
        make = norm_factory(norm, bn_eps, bn_momentum) if norm.where != "none" else None
        per_conv = make if norm.where == "every" else None
        self.stem = ConvSlot(3, widths[0], 1, per_conv)
        blocks, cin = [], widths[0]
        for stage, width in enumerate(widths):
            for i in range(n):
                blocks.append(BasicBlock(cin, width, 2 if stage > 0 and i == 0 else 1, per_conv, skipinit))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.stem_act = nn.ReLU()
        self.top_norm = make(cin) if norm.where == "top" else nn.Identity()
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem_act(self.stem(x)))
        x = self.top_norm(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def conv_slots(self) -> list[ConvSlot]:
        """Every conv with its norm slot, in forward order (the stem, then two per block)."""
        return [self.stem] + [slot for block in self.blocks for slot in (block.a, block.b)]


def input_activation(model: ResNet, k: int, stem_is_layer_1: bool = True) -> nn.ReLU:
    """The ReLU whose output is conv layer k's input (its input is the pre-ReLU tensor of Fig. 18).

    A block's first conv reads the previous block's output ReLU (the stem's ReLU for the first block), its second
    conv reads the ReLU after its first norm slot. The stem reads the image, which has no ReLU: an error.
    """
    index = weight_layers(model).index(layer_module(model, k, stem_is_layer_1))
    if index == 0 or index > 2 * len(model.blocks):
        raise ValueError(f"layer {k} does not read a ReLU output (it is the stem or the classifier)")
    block, second = divmod(index - 1, 2)
    if second:
        return model.blocks[block].act_a
    return model.blocks[block - 1].act_out if block else model.stem_act


def weight_layers(model: ResNet) -> list[nn.Module]:
    """The weight layers in forward order: stem conv, block convs, linear. Index i is layer i+1 (stem = 1)."""
    return [slot.conv for slot in model.conv_slots()] + [model.fc]


def layer_module(model: ResNet, k: int, stem_is_layer_1: bool = True) -> nn.Module:
    """The module the paper calls "layer k" (params: contradictions.stem_is_layer_1 picks the numbering).

    With the stem as layer 1, ResNet-110 has layers 1..110 and layer 110 is the linear classifier; otherwise the
    stem is layer 0 and the classifier layer 109.
    """
    layers = weight_layers(model)
    first = 1 if stem_is_layer_1 else 0
    if not first <= k < first + len(layers):
        raise IndexError(
            f"layer {k} does not exist: ResNet-{model.depth} has layers {first}..{first + len(layers) - 1}"
        )
    return layers[k - first]


def kernel_channels(shape: torch.Size) -> dict[str, list[int]]:
    """For each parameter of a conv weight of ``shape`` (co, ci, kh, kw), in flat order: its flat index, its
    out channel and its in channel (columns of the per-parameter probe outputs)."""
    _co, ci, kh, kw = shape
    index = torch.arange(shape.numel())
    return {
        "param": index.tolist(),
        "out_channel": (index // (ci * kh * kw)).tolist(),
        "in_channel": (index // (kh * kw) % ci).tolist(),
    }


def layer_number(index: int, stem_is_layer_1: bool = True) -> int:
    """The paper's number of the weight layer at 0-based forward position ``index``."""
    return index + 1 if stem_is_layer_1 else index


@torch.no_grad()
def initialize(model: ResNet, scheme: str, generator: torch.Generator) -> ResNet:
    """Xavier (Glorot) weights for convs and the linear layer, zero biases, BN gamma=1 and beta=0.

    All draws come from ``generator`` in module order, so a seed fixes the weights on every machine.
    """
    draw = {"xavier_uniform": nn.init.xavier_uniform_, "xavier_normal": nn.init.xavier_normal_}[scheme]
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            draw(module.weight, generator=generator)
            if module.bias is not None:
                module.bias.zero_()
        elif getattr(module, "weight", None) is not None:  # normalization layers: gamma = 1
            module.weight.fill_(1.0)
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()
    return model


def build(variant: dict, model_params: dict, depth: int) -> ResNet:
    """The ResNet of a ``variants.<name>`` entry and the ``model`` section of params.yaml, at ``depth``."""
    return ResNet(
        depth,
        NormSpec.from_variant(variant),
        tuple(model_params["widths"]),
        model_params["num_classes"],
        model_params["bn_eps"],
        model_params["bn_momentum"],
        variant.get("branch_init", "xavier") == "skipinit",
    )
