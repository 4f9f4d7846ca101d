"""Generator and discriminator whose growth is data: one block per scale in a CellList (spec §3).

``alpha`` is 1 for the old low-resolution path only and 0 for the new layers only (the ModelZoo's
convention, opposite to the paper's). Networks are built for ``n_scales`` scales; growing builds the
next network and copies the trained parameters (``grow``).
"""
from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import nn

from .layers import (EqualizedConv2d, EqualizedLinear, avgpool2x, leaky_relu, maxpool2x, minibatch_stddev,
                     pixel_norm, upscale2x)


class GBlock(nn.Cell):
    """One generator scale: two 3x3 equalized convs, each followed by LeakyReLU and pixel norm."""

    def __init__(self, c_in: int, c_out: int, rng, leak: float):
        super().__init__()
        self.conv0 = EqualizedConv2d(c_in, c_out, 3, rng)
        self.conv1 = EqualizedConv2d(c_out, c_out, 3, rng)
        self.leak = leak

    def construct(self, x):
        x = pixel_norm(leaky_relu(self.conv0(x), self.leak))
        return pixel_norm(leaky_relu(self.conv1(x), self.leak))


class DBlock(nn.Cell):
    """One discriminator scale: 3x3 conv (d -> d), 3x3 conv (d -> d_prev), each with LeakyReLU."""

    def __init__(self, c: int, c_prev: int, rng, leak: float):
        super().__init__()
        self.conv0 = EqualizedConv2d(c, c, 3, rng)
        self.conv1 = EqualizedConv2d(c, c_prev, 3, rng)
        self.leak = leak

    def construct(self, x):
        return leaky_relu(self.conv1(leaky_relu(self.conv0(x), self.leak)), self.leak)


class Generator(nn.Cell):
    """PGAN generator at ``len(depths)`` scales: ``G(z, alpha) -> (B, 3, 4 * 2**s, 4 * 2**s)``, unbounded."""

    def __init__(self, latent: int, depths: list[int], *, leak: float = 0.2, seed: int = 0,
                 lrelu_torgb: bool = False):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.latent, self.depths, self.leak = latent, list(depths), leak
        self.lrelu_torgb = lrelu_torgb  # ModelZoo D4
        d0 = depths[0]
        self.format = EqualizedLinear(latent, 16 * d0, rng)
        self.scale0 = EqualizedConv2d(d0, d0, 3, rng)
        self.blocks = nn.CellList([GBlock(depths[s - 1], depths[s], rng, leak) for s in range(1, len(depths))])
        self.to_rgb = nn.CellList([EqualizedConv2d(d, 3, 1, rng) for d in depths])

    @property
    def resolution(self) -> int:
        """Return the output side length in pixels."""
        return 4 * 2 ** (len(self.depths) - 1)

    def construct(self, z, alpha):
        x = leaky_relu(self.format(pixel_norm(z)), self.leak)
        x = pixel_norm(x.reshape(x.shape[0], -1, 4, 4))
        x = pixel_norm(leaky_relu(self.scale0(x), self.leak))
        top = len(self.blocks)
        y = x
        for s in range(top):
            if s == top - 1:
                y = upscale2x(self.to_rgb[s](x))
            x = self.blocks[s](upscale2x(x))
        out = self.to_rgb[top](x)
        if self.lrelu_torgb and top > 0:
            out = leaky_relu(out, self.leak)
        if top > 0:
            out = alpha * y + (1.0 - alpha) * out
        return out


class Discriminator(nn.Cell):
    """PGAN discriminator at ``len(depths)`` scales: ``D(x, alpha) -> (B, 1)`` scores."""

    def __init__(self, depths: list[int], *, leak: float = 0.2, seed: int = 1, minibatch_std: bool = True,
                 maxpool: bool = False, fp16_pool: bool = False):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.depths, self.leak = list(depths), leak
        self.minibatch_std = minibatch_std  # off = ModelZoo D1
        self.maxpool = maxpool  # ModelZoo D2
        self.fp16_pool = fp16_pool  # ModelZoo D9
        d0 = depths[0]
        self.from_rgb = nn.CellList([EqualizedConv2d(3, d, 1, rng) for d in depths])
        self.blocks = nn.CellList([DBlock(depths[s], depths[s - 1], rng, leak) for s in range(1, len(depths))])
        self.scale0_conv = EqualizedConv2d(d0 + (1 if minibatch_std else 0), d0, 3, rng)
        self.scale0_dense = EqualizedLinear(16 * d0, d0, rng)
        self.decision = EqualizedLinear(d0, 1, rng)

    def _down(self, x, blend: bool = False):
        pool = maxpool2x if self.maxpool else avgpool2x
        if not self.fp16_pool:
            return pool(x)
        # D9: the ModelZoo casts to float16 and pools; the pooled features that enter the alpha blend stay float16
        # (so ``(1 - alpha) * x`` runs in float16), every other pooled tensor is cast back to float32.
        x = pool(x.astype(ms.float16))
        return x if blend else x.astype(ms.float32)

    def construct(self, x, alpha):
        top = len(self.blocks)
        y = x
        if top > 0:
            y = leaky_relu(self.from_rgb[top - 1](self._down(x)), self.leak)
        x = leaky_relu(self.from_rgb[top](x), self.leak)
        for i in range(top):
            s = top - 1 - i
            x = self._down(self.blocks[s](x), blend=i == 0)
            if i == 0:
                x = alpha * y + (1.0 - alpha) * x
        if self.minibatch_std:
            x = minibatch_stddev(x)
        x = leaky_relu(self.scale0_conv(x), self.leak)
        x = leaky_relu(self.scale0_dense(x.reshape(x.shape[0], -1)), self.leak)
        return self.decision(x)


def build_networks(cfg, n_scales: int, seed: int = 0) -> tuple[Generator, Discriminator]:
    """Return (G, D) for the first ``n_scales`` scales of ``cfg`` with its deviation switches applied."""
    dev = cfg.deviations
    depths = cfg.depth[:n_scales]
    g = Generator(cfg.latent, depths, leak=cfg.leaky, seed=seed, lrelu_torgb=dev.d4_lrelu_torgb)
    d = Discriminator(depths, leak=cfg.leaky, seed=seed + 1, minibatch_std=not dev.d1_no_minibatch_stddev,
                      maxpool=dev.d2_maxpool_downsample, fp16_pool=dev.d9_fp16_downsample)
    return g, d


def local_params(cell: nn.Cell) -> dict:
    """Return ``{name relative to cell: Parameter}`` independent of any prefix the cell's parameters carry."""
    return dict(cell.parameters_and_names())


def copy_params(src: nn.Cell, dst: nn.Cell, skip: tuple[str, ...] = ()) -> list[str]:
    """Copy every parameter of ``src`` into the same-named, same-shaped one of ``dst``; return the names copied."""
    dst_params = local_params(dst)
    copied = []
    for name, p in local_params(src).items():
        q = dst_params.get(name)
        if q is not None and q.shape == p.shape and not name.startswith(skip):
            q.set_data(p.value().copy())
            copied.append(name)
    return copied
