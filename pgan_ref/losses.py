"""WGAN-GP + drift losses, summed over the batch as in the ModelZoo and pytorch_GAN_zoo (spec §4).

``DiscriminatorLoss`` and ``GeneratorLoss`` are cells the training step compiles; the GP's gradient
with respect to D's weights is second-order and only correct compiled (see the MindSpore notes).
``discriminator_loss`` / ``generator_loss`` are the public function forms.
"""
from __future__ import annotations

import copy

import numpy as np
from mindspore import Tensor, nn, ops


def shared_twin(cell: nn.Cell) -> nn.Cell:
    """Return a structural copy of ``cell`` whose parameters are the *same* Parameter objects.

    MindSpore 2.10 cannot compile a second-order gradient when one Cell is called both directly and
    inside the inner ``GradOperation`` ("The pointer[real_primal_func] is null"); the penalty's inner
    gradient therefore goes through this twin, which computes the same function of the same weights.
    """
    twin = copy.deepcopy(cell)
    owners = dict(twin.cells_and_names())
    for name, param in cell.parameters_and_names():
        owner, attr = name.rsplit(".", 1) if "." in name else ("", name)
        setattr(owners[owner], attr, param)
    return twin


class _SumScores(nn.Cell):
    """``x -> sum D(x, alpha)``: the function whose input gradient the penalty constrains."""

    def __init__(self, d):
        super().__init__(auto_prefix=False)
        self.d = d

    def construct(self, x, alpha):
        return self.d(x, alpha).sum()


class DiscriminatorLoss(nn.Cell):
    """``(real, fake, alpha, mix) -> (total, gp, drift, sum D(real), sum D(fake))`` of the WGAN-GP D loss.

    ``GP = lambda * sum_b (||grad_x D(x_hat)_b|| - 1)^2`` with ``x_hat = mix*real + (1-mix)*fake``;
    ``drift = epsilon * sum D(real)^2``; ``total = -sum D(real) + sum D(fake) + GP + drift``.
    """

    def __init__(self, d, lambda_gp: float = 10.0, epsilon_drift: float = 0.001):
        super().__init__(auto_prefix=False)
        self.d, self.lambda_gp, self.epsilon_drift = d, lambda_gp, epsilon_drift
        self.sum_scores = _SumScores(shared_twin(d))
        self.grad = ops.GradOperation()

    def construct(self, real, fake, alpha, mix):
        d_real = self.d(real, alpha)
        d_fake = self.d(fake, alpha)
        g = self.grad(self.sum_scores)(mix * real + (1.0 - mix) * fake, alpha)
        norm = ops.sqrt((g * g).sum(axis=(1, 2, 3)))
        gp = self.lambda_gp * ((norm - 1.0) ** 2).sum()
        drift = self.epsilon_drift * (d_real * d_real).sum()
        s_real, s_fake = d_real.sum(), d_fake.sum()
        return -s_real + s_fake + gp + drift, gp, drift, s_real, s_fake


class GeneratorLoss(nn.Cell):
    """``(z, alpha) -> -sum D(G(z, alpha), alpha)``."""

    def __init__(self, g, d):
        super().__init__(auto_prefix=False)
        self.g, self.d = g, d

    def construct(self, z, alpha):
        return -self.d(self.g(z, alpha), alpha).sum()


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
    total, gp, drift, s_real, s_fake = DiscriminatorLoss(D, lambda_gp, epsilon_drift)(real, fake, alpha, mix)
    return total, {"gp": gp, "drift": drift, "d_real": s_real, "d_fake": s_fake}


def generator_loss(D, fake, alpha):
    """Return the G loss ``-sum D(fake, alpha)`` for already generated images."""
    return -D(_as_tensor(fake), alpha).sum()


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
