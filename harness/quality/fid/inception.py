"""The FID Inception network (TF ``inception-2015-12-05``, pool3 features) as a MindSpore cell, BN folded.

Only the 2048-d pool3 features are computed: the 1008-class classifier of the TF graph is not needed for FID.
"""
from __future__ import annotations

import numpy as np

import mindspore as ms
from mindspore import nn, ops

BN_EPS = 1e-3
_POOLS = ("avg", "max", "max2")  # block pool (avg or max per block), 3x3 stride-2 max pool
_VALID = {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_4a_3x3"}
_STRIDE2 = {"Conv2d_1a_3x3", "Mixed_6a.branch3x3", "Mixed_6a.branch3x3dbl_3", "Mixed_7a.branch3x3_2",
            "Mixed_7a.branch7x7x3_4"}
# Block layouts: each branch is a chain of conv names or pools; a tuple inside a chain is a parallel split.
_LAYOUTS = {
    "A": [["branch1x1"], ["branch5x5_1", "branch5x5_2"], ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
          ["avg", "branch_pool"]],
    "B": [["branch3x3"], ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], ["max2"]],
    "C": [["branch1x1"], ["branch7x7_1", "branch7x7_2", "branch7x7_3"],
          [f"branch7x7dbl_{i}" for i in range(1, 6)], ["avg", "branch_pool"]],
    "D": [["branch3x3_1", "branch3x3_2"], [f"branch7x7x3_{i}" for i in range(1, 5)], ["max2"]],
    "E": [["branch1x1"], ["branch3x3_1", ("branch3x3_2a", "branch3x3_2b")],
          ["branch3x3dbl_1", "branch3x3dbl_2", ("branch3x3dbl_3a", "branch3x3dbl_3b")], ["avg", "branch_pool"]],
}
_STEM = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "max2", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "max2"]
# Mixed_7c differs from the other E block: its pool branch is a max pool.
BLOCKS = [("Mixed_5b", "A", "avg"), ("Mixed_5c", "A", "avg"), ("Mixed_5d", "A", "avg"), ("Mixed_6a", "B", "avg"),
          ("Mixed_6b", "C", "avg"), ("Mixed_6c", "C", "avg"), ("Mixed_6d", "C", "avg"), ("Mixed_6e", "C", "avg"),
          ("Mixed_7a", "D", "avg"), ("Mixed_7b", "E", "avg"), ("Mixed_7c", "E", "max")]


def conv_names() -> list[str]:
    """Return the dotted names of the 94 conv layers (pytorch-fid / torchvision naming) in forward order."""
    def walk(chain):
        for item in chain:
            if isinstance(item, tuple):
                yield from item
            elif item not in _POOLS:
                yield item
    names = list(walk(_STEM))
    for block, kind, _ in BLOCKS:
        names += [f"{block}.{n}" for branch in _LAYOUTS[kind] for n in walk(branch)]
    return names


def fold_batchnorm(params: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the conv weight and bias of layer ``name`` with its eval-mode batch norm folded in (float64 math)."""
    w = params[f"{name}.conv.weight"].astype(np.float64)
    gamma = params.get(f"{name}.bn.weight", np.ones(w.shape[0])).astype(np.float64)
    scale = gamma / np.sqrt(params[f"{name}.bn.running_var"].astype(np.float64) + BN_EPS)
    bias = params[f"{name}.bn.bias"] - params[f"{name}.bn.running_mean"] * scale
    return (w * scale[:, None, None, None]).astype(np.float32), bias.astype(np.float32)


class _Conv(nn.Cell):
    """Conv2d + bias + ReLU with folded batch norm."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride: int, padding: tuple[int, int]):
        super().__init__()
        cout, cin, kh, kw = weight.shape
        self.conv = nn.Conv2d(cin, cout, (kh, kw), stride=stride, pad_mode="pad",
                              padding=(padding[0], padding[0], padding[1], padding[1]), has_bias=True,
                              weight_init=ms.Tensor(weight), bias_init=ms.Tensor(bias))
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.conv(x))


class _Parallel(nn.Cell):
    """Apply several cells to one input and concatenate their outputs on channels."""

    def __init__(self, cells: list[nn.Cell]):
        super().__init__()
        self.branches = nn.CellList(cells)

    def construct(self, x):
        return ops.cat([b(x) for b in self.branches], 1)


class _GlobalAvgPool(nn.Cell):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    def construct(self, x):
        return x.mean(axis=(2, 3))


def _pool(kind: str) -> nn.Cell:
    if kind == "avg":  # TF SAME average pooling: padding excluded from the count
        return nn.AvgPool2d(3, 1, pad_mode="pad", padding=1, count_include_pad=False)
    if kind == "max":
        return nn.MaxPool2d(3, 1, pad_mode="pad", padding=1)
    return nn.MaxPool2d(3, 2, pad_mode="valid")


def _chain(items, prefix: str, params: dict, pool_kind: str) -> nn.Cell:
    cells = []
    for item in items:
        if isinstance(item, tuple):
            cells.append(_Parallel([_chain([n], prefix, params, pool_kind) for n in item]))
        elif item in _POOLS:
            cells.append(_pool(pool_kind if item == "avg" else item))
        else:
            name = prefix + item
            w, b = fold_batchnorm(params, name)
            kh, kw = w.shape[2:]
            pad = (0, 0) if name in _VALID or name in _STRIDE2 else ((kh - 1) // 2, (kw - 1) // 2)
            cells.append(_Conv(w, b, 2 if name in _STRIDE2 else 1, pad))
    return cells[0] if len(cells) == 1 else nn.SequentialCell(cells)


class FIDInception(nn.Cell):
    """NCHW float32 images in [-1, 1], 299x299 -> (N, 2048) pool3 features of the FID Inception network."""

    def __init__(self, params: dict[str, np.ndarray]):
        super().__init__()
        blocks = [_chain(_STEM, "", params, "max2")]
        for block, kind, pool_kind in BLOCKS:
            blocks.append(_Parallel([_chain(b, f"{block}.", params, pool_kind) for b in _LAYOUTS[kind]]))
        self.layers = nn.SequentialCell(blocks + [_GlobalAvgPool()])

    def construct(self, x):
        return self.layers(x)
