"""WGAN-GP + drift losses, summed over the batch as in the ModelZoo and pytorch_GAN_zoo (spec §4).

``discriminator_terms`` / ``generator_loss`` are graph-compilable (the training step calls them under
``ms.jit``); ``discriminator_loss`` is the public, dict-returning wrapper. The GP's gradient with
respect to D's weights is a second-order gradient: it is only correct when compiled (see notes).
"""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops
import mindspore as ms


class _SumScores(nn.Cell):
    """``x -> sum D(x, alpha)``: the function whose input gradient the penalty constrains."""

    def __init__(self, d):
        super().__init__(auto_prefix=False)
        self.d = d

    def construct(self, x, alpha):
        return self.d(x, alpha).sum()


_input_grad = ops.GradOperation()


def gradient_penalty(d, real, fake, alpha, mix, lambda_gp: float = 10.0):
    """Return ``lambda * sum_b (||grad_x D(x_hat)_b|| - 1)^2`` with ``x_hat = mix*real + (1-mix)*fake``."""
    x_hat = mix * real + (1.0 - mix) * fake
    g = _input_grad(_SumScores(d))(x_hat, alpha)
    norm = ops.sqrt((g * g).sum(axis=(1, 2, 3)))
    return lambda_gp * ((norm - 1.0) ** 2).sum()


def discriminator_terms(d, real, fake, alpha, mix, lambda_gp: float = 10.0, epsilon_drift: float = 0.001):
    """Return ``(total, gp, drift, sum D(real), sum D(fake))`` of the D loss (graph-compilable)."""
    d_real = d(real, alpha)
    d_fake = d(fake, alpha)
    gp = gradient_penalty(d, real, fake, alpha, mix, lambda_gp)
    drift = epsilon_drift * (d_real * d_real).sum()
    s_real, s_fake = d_real.sum(), d_fake.sum()
    return -s_real + s_fake + gp + drift, gp, drift, s_real, s_fake


def draw_mix(batch: int, rng: np.random.Generator | None = None) -> Tensor:
    """Return GP mixing factors U[0, 1) of shape (batch, 1, 1, 1) drawn with numpy."""
    rng = rng or np.random.default_rng()
    return Tensor(rng.random((batch, 1, 1, 1)).astype(np.float32))


def discriminator_loss(D, real, fake, alpha, mix=None, *, lambda_gp: float = 10.0, epsilon_drift: float = 0.001):
    """Return ``(total, parts)`` of the WGAN-GP + drift D loss; ``parts`` has gp, drift, d_real, d_fake sums.

    ``mix`` are the per-sample GP mixing factors (B, 1, 1, 1); drawn U[0, 1) when None.
    """
    real, fake = _as_tensor(real), ops.stop_gradient(_as_tensor(fake))
    mix = draw_mix(real.shape[0]) if mix is None else _as_tensor(mix).reshape(-1, 1, 1, 1)
    total, gp, drift, s_real, s_fake = discriminator_terms(D, real, fake, alpha, mix, lambda_gp, epsilon_drift)
    return total, {"gp": gp, "drift": drift, "d_real": s_real, "d_fake": s_fake}


def generator_loss(D, fake, alpha):
    """Return the G loss ``-sum D(fake, alpha)``."""
    return -D(_as_tensor(fake), alpha).sum()


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))


__all__ = ["gradient_penalty", "discriminator_terms", "discriminator_loss", "generator_loss", "draw_mix", "ms"]
