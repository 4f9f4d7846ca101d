"""One compiled PGAN iteration (D step with gradient penalty, G step, EMA) for one scale.

Everything runs in a single ``ms.jit`` function built per scale: the GP's second-order gradient is
only correct compiled. Latents and GP mixing factors are drawn with numpy (seeded per rank) and fed
in, since framework random ops draw differently under jit. Parameters must be loaded *before* the
first call (a compiled function does not see host-side ``set_data``); in-place updates are seen.
"""
from __future__ import annotations

from dataclasses import dataclass

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from .layers import avgpool2x, upscale2x
from .losses import DiscriminatorLoss, GeneratorLoss, draw_mix, shared_twin
from .networks import Discriminator, Generator


def prefix_parameters(cell: nn.Cell, prefix: str) -> None:
    """Give every parameter of ``cell`` a unique ``prefix.`` name (several nets share one graph)."""
    for p in cell.get_parameters():
        if not p.name.startswith(prefix + "."):
            p.name = f"{prefix}.{p.name}"


def make_adam(net: nn.Cell, cfg, prefix: str) -> nn.Adam:
    """Return a fresh Adam for ``net`` with the config's betas (beta1 0 is run as 1e-12, equal in float32)."""
    beta1 = max(cfg.effective_beta1(), 1e-12)  # nn.Adam requires 0 < beta1; 1e-12 is 0 to float32 precision
    opt = nn.Adam(net.trainable_params(), learning_rate=cfg.lr, beta1=beta1, beta2=cfg.beta2, eps=cfg.adam_eps)
    for p in optimizer_state(opt):  # unique names for moments, step counters and beta powers in one graph
        if not p.name.startswith(prefix + "."):
            p.name = f"{prefix}.{p.name}"
    return opt


def optimizer_state(opt: nn.Optimizer) -> list:
    """Return the optimizer's own parameters (moments, step counters, beta powers), not the network's."""
    network = {id(p) for p in opt.parameters}
    return [p for p in opt.get_parameters() if id(p) not in network]


class _DStepLoss(nn.Cell):
    """The D loss with (gp, drift) as auxiliary outputs, for ``value_and_grad(has_aux=True)``."""

    def __init__(self, d, cfg):
        super().__init__(auto_prefix=False)
        self.loss = DiscriminatorLoss(d, cfg.lambda_gp, cfg.epsilon_drift)

    def construct(self, real, fake, alpha, mix):
        total, gp, drift, _, _ = self.loss(real, fake, alpha, mix)
        return total, gp, drift


_ema_update = ops.MultitypeFuncGraph("ema_update")


@_ema_update.register("Number", "Tensor", "Tensor")
def _ema_one(decay, avg, src):
    return ops.assign(avg, avg * decay + src * (1.0 - decay))


class _EMA(nn.Cell):
    """``avg = decay * avg + (1 - decay) * src`` for every parameter pair, in place."""

    def __init__(self, avg: nn.Cell, src: nn.Cell, decay: float):
        super().__init__(auto_prefix=False)
        self.avg = ms.ParameterTuple(avg.trainable_params())
        self.src = ms.ParameterTuple(src.trainable_params())
        self.decay = decay
        self.map = ops.HyperMap()

    def construct(self):
        return self.map(ops.partial(_ema_update, self.decay), self.avg, self.src)


@dataclass
class StepNets:
    """The cells and optimizers of one scale's training step."""

    g: Generator
    d: Discriminator
    avg_g: Generator
    opt_d: nn.Adam
    opt_g: nn.Adam


def build_step(nets: StepNets, cfg, *, fade_real: bool, group_size: int = 1):
    """Return ``step(real, z_d, z_g, alpha, mix) -> (loss_d, loss_g, gp, drift)`` compiled with ``ms.jit``.

    ``fade_real`` blends the real batch with its down-and-up-sampled version by alpha (off for scale 4
    and under ModelZoo D3). With ``group_size > 1`` gradients are averaged across ranks.
    """
    d_grad = ms.value_and_grad(_DStepLoss(nets.d, cfg), None, nets.opt_d.parameters, has_aux=True)
    g_grad = ms.value_and_grad(GeneratorLoss(nets.g, shared_twin(nets.d)), None, nets.opt_g.parameters)
    ema = _EMA(nets.avg_g, nets.g, cfg.ema_decay)
    if group_size > 1:
        reduce_d = nn.DistributedGradReducer(nets.opt_d.parameters, mean=True, degree=group_size)
        reduce_g = nn.DistributedGradReducer(nets.opt_g.parameters, mean=True, degree=group_size)
    else:
        reduce_d = reduce_g = None
    g, opt_d, opt_g = nets.g, nets.opt_d, nets.opt_g

    @ms.jit
    def step(real, z_d, z_g, alpha, mix):
        if fade_real:
            real = alpha * upscale2x(avgpool2x(real)) + (1.0 - alpha) * real
        fake = ops.stop_gradient(g(z_d, alpha))
        (loss_d, gp, drift), grads_d = d_grad(real, fake, alpha, mix)
        if reduce_d is not None:
            grads_d = reduce_d(grads_d)
        loss_d = ops.depend(loss_d, opt_d(grads_d))
        loss_g, grads_g = g_grad(z_g, alpha)
        if reduce_g is not None:
            grads_g = reduce_g(grads_g)
        loss_g = ops.depend(loss_g, opt_g(grads_g))
        loss_g = ops.depend(loss_g, ema())
        return loss_d, loss_g, gp, drift

    return step


class NoiseSource:
    """Seeded numpy draws of latents and GP mixing factors for one rank (state saved for resume)."""

    def __init__(self, seed: int, rank: int, *, same_all_ranks: bool = False):
        self.rng = np.random.default_rng([seed, 0 if same_all_ranks else rank])

    def latents(self, batch: int, latent: int) -> Tensor:
        """Return N(0, 1) latents (batch, latent) as float32."""
        return Tensor(self.rng.standard_normal((batch, latent)).astype(np.float32))

    def mix(self, batch: int) -> Tensor:
        """Return GP mixing factors U[0, 1) of shape (batch, 1, 1, 1)."""
        return draw_mix(batch, self.rng)

    def fixed_normal_mix(self, batch: int) -> Tensor:
        """Return N(0, 1) mixing factors (ModelZoo D6: drawn once and fixed for a compiled graph)."""
        return Tensor(self.rng.standard_normal((batch, 1, 1, 1)).astype(np.float32))

    def get_state(self) -> dict:
        """Return the generator state (JSON-serialisable)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state returned by ``get_state``."""
        self.rng.bit_generator.state = state
