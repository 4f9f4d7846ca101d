"""PGAN building blocks: equalized-lr conv/linear, pixel norm, minibatch stddev, resampling.

All are written from primitives with well-defined second derivatives (reshape, mean, max, conv, matmul)
because the gradient penalty differentiates through D twice.
"""
from __future__ import annotations

import math

import numpy as np
from mindspore import Parameter, Tensor, nn, ops


def _normal(rng: np.random.Generator, shape) -> Parameter:
    return Parameter(Tensor(rng.standard_normal(shape).astype(np.float32)), name="weight")


class EqualizedConv2d(nn.Cell):
    """Conv with N(0,1) weights, zero bias, output ``(conv(x, w) + b) * sqrt(2 / fan_in)`` (pytorch_GAN_zoo)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, rng: np.random.Generator):
        super().__init__()
        self.weight = _normal(rng, (c_out, c_in, kernel, kernel))
        self.bias = Parameter(Tensor(np.zeros(c_out, np.float32)), name="bias")
        self.scale = math.sqrt(2.0 / (c_in * kernel * kernel))
        self.pad = kernel // 2

    def construct(self, x):
        y = ops.conv2d(x, self.weight, None, 1, "pad" if self.pad else "valid", self.pad)
        return (y + self.bias.reshape(1, -1, 1, 1)) * self.scale


class EqualizedLinear(nn.Cell):
    """Linear with N(0,1) weights, zero bias, output ``(x @ w.T + b) * sqrt(2 / in_features)``.

    ``MatMul(transpose_b=True)`` reads the (out, in) weight as it is stored: ``x @ w.T`` would add a Transpose
    of the weight to every forward pass and more to its gradients (41% of a full-width 4 px step on CPU).
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator):
        super().__init__()
        self.weight = _normal(rng, (n_out, n_in))
        self.bias = Parameter(Tensor(np.zeros(n_out, np.float32)), name="bias")
        self.scale = math.sqrt(2.0 / n_in)
        self.matmul_wt = ops.MatMul(transpose_b=True)

    def construct(self, x):
        return (self.matmul_wt(x, self.weight) + self.bias) * self.scale


def leaky_relu(x, slope: float = 0.2):
    """Return LeakyReLU(x) as ``max(x, slope * x)`` (0 < slope < 1)."""
    return ops.maximum(x, x * slope)


def pixel_norm(x, eps: float = 1e-8):
    """Return ``x * rsqrt(mean(x^2 over channels) + eps)`` (axis 1 of NCHW or NC).

    Written as both references write it (the ModelZoo's ``NormalizationLayer``, pytorch_GAN_zoo's
    ``.rsqrt()``): ``x / sqrt(...)`` is the same function but rounds differently in the last bit, and the
    ModelZoo's float16 pooling in D (D9) amplifies such a last-bit difference in G's output into
    gradients that differ by several percent from 32 px up.
    """
    return x * ops.rsqrt(ops.mean(x * x, axis=1, keep_dims=True) + eps)


def upscale2x(x):
    """Return the nearest-neighbour 2x upscale of NCHW ``x`` (reshape-based, exportable with dynamic batch)."""
    b, c, h, w = x.shape
    x = ops.broadcast_to(x.reshape(b, c, h, 1, w, 1), (b, c, h, 2, w, 2))
    return x.reshape(b, c, h * 2, w * 2)


def avgpool2x(x):
    """Return the 2x2 average pool of NCHW ``x``."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def maxpool2x(x):
    """Return the 2x2 max pool of NCHW ``x`` (ModelZoo deviation D2).

    ``ops.amax``: ``Tensor.max`` compiles to a ReduceMax whose gradient has no gradient, so the GP's
    second-order gradient fails to compile ("Fail to find user for S_Prim_ReduceMax"); so does ``max_pool2d``.
    """
    b, c, h, w = x.shape
    return ops.amax(x.reshape(b, c, h // 2, 2, w // 2, 2), axis=(3, 5))


def group_size_for(batch: int, group: int = 4) -> int:
    """Return pytorch_GAN_zoo's minibatch-stddev group size for a batch (whole batch if it does not divide)."""
    g = min(batch, group)
    return batch if batch % g else g


def minibatch_stddev(x, group: int = 4):
    """Return ``x`` with one channel appended: mean over CHW of the unbiased std within groups of consecutive samples."""
    b, c, h, w = x.shape
    g = group_size_for(b, group)
    if g == 1:
        return ops.concat((x, ops.zeros((b, 1, h, w), x.dtype)), axis=1)
    y = x.reshape(b // g, g, c, h, w)
    y = y - y.mean(axis=1, keep_dims=True)
    var = (y * y).sum(axis=1) / (g - 1)
    std = ops.sqrt(var + 1e-8).reshape(b // g, -1).mean(axis=1)  # (G,)
    y = ops.broadcast_to(std.reshape(b // g, 1, 1, 1, 1), (b // g, g, 1, h, w)).reshape(b, 1, h, w)
    return ops.concat((x, y.astype(x.dtype)), axis=1)


__all__ = ["EqualizedConv2d", "EqualizedLinear", "leaky_relu", "pixel_norm", "upscale2x", "avgpool2x",
           "maxpool2x", "minibatch_stddev", "group_size_for"]
