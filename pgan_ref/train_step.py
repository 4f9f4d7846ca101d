"""One compiled PGAN iteration (D step with gradient penalty, G step, EMA) for one scale, and its parts.

The fused step runs everything in a single ``ms.jit`` function built per scale (the GP's second-order
gradient is only correct compiled); the D and G update cells are shared with the ModelZoo's three-graph
structure (``modelzoo_step``). Latents and GP mixing factors are drawn with numpy (seeded per rank) and fed
in, since framework random ops draw differently under jit. Parameters must be loaded *before* the
first call (a compiled function does not see host-side ``set_data``); in-place updates are seen.
"""
from __future__ import annotations

from dataclasses import dataclass

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from .layers import avgpool2x, upscale2x
from .loss_scale import DynamicLossScale
from .losses import DiscriminatorLoss, GeneratorLoss, draw_mix, shared_twin
from .networks import Discriminator, Generator


def prefix_parameters(cell: nn.Cell, prefix: str) -> None:
    """Give every parameter of ``cell`` a unique ``prefix.`` name (several nets share one graph)."""
    for p in cell.get_parameters():
        if not p.name.startswith(prefix + "."):
            p.name = f"{prefix}.{p.name}"


def make_adam(net: nn.Cell, cfg, prefix: str, lr: float | None = None) -> nn.Adam:
    """Return a fresh Adam for ``net`` with the config's betas (beta1 0 is run as 1e-12, equal in float32), at
    learning rate ``lr`` (default: the config's ``lr``)."""
    beta1 = max(cfg.effective_beta1(), 1e-12)  # nn.Adam requires 0 < beta1; 1e-12 is 0 to float32 precision
    opt = nn.Adam(net.trainable_params(), learning_rate=cfg.lr if lr is None else lr, beta1=beta1, beta2=cfg.beta2,
                  eps=cfg.adam_eps)
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


_unscale = ops.MultitypeFuncGraph("unscale")


@_unscale.register("Tensor", "Tensor")
def _unscale_one(inverse, grad):
    return grad * ops.cast(inverse, grad.dtype)


class _Scaled(nn.Cell):
    """``(scale, *inputs) -> (loss * scale, *outputs)``: differentiate the scaled loss, keep the outputs (B4)."""

    def __init__(self, loss_net: nn.Cell, has_aux: bool):
        super().__init__(auto_prefix=False)
        self.net, self.has_aux = loss_net, has_aux

    def construct(self, scale, *inputs):
        out = self.net(*inputs)
        if self.has_aux:
            return (out[0] * scale,) + out
        return out * scale, out


class OptimizerStep(nn.Cell):
    """One update of ``opt``'s parameters from ``loss_net``'s first output: ``(*inputs) -> (outputs, overflow)``.

    ``outputs`` are the loss cell's own (unscaled). With a ``DynamicLossScale`` (B4) the gradients of
    ``loss * scale`` are unscaled, checked for inf/NaN, and the update is skipped on overflow, as in
    ``nn.TrainOneStepWithLossScaleCell``; without one ``overflow`` is always False. With ``group_size > 1``
    gradients are averaged across ranks.
    """

    def __init__(self, loss_net: nn.Cell, opt: nn.Optimizer, *, has_aux: bool, scaler=None, group_size: int = 1):
        super().__init__(auto_prefix=False)
        self.opt, self.scaler, self.has_aux = opt, scaler, has_aux
        net = loss_net if scaler is None else _Scaled(loss_net, has_aux)
        self.grad = ms.value_and_grad(net, None, opt.parameters, has_aux=has_aux or scaler is not None)
        self.reduce = (nn.DistributedGradReducer(opt.parameters, mean=True, degree=group_size)
                       if group_size > 1 else None)
        self.map = ops.HyperMap()
        self.no_overflow = Tensor(False, ms.bool_)

    def construct(self, *inputs):
        if self.scaler is None:
            out, grads = self.grad(*inputs)
            if self.reduce is not None:
                grads = self.reduce(grads)
            return self._first_after(out, self.opt(grads)), self.no_overflow
        scale = self.scaler.scale
        out, grads = self.grad(scale, *inputs)
        out = out[1:] if self.has_aux else out[1]
        grads = self.map(ops.partial(_unscale, ops.reciprocal(scale)), grads)
        if self.reduce is not None:
            grads = self.reduce(grads)
        overflow = self.scaler(ops.logical_not(ms.amp.all_finite(grads)))
        if not overflow:
            out = self._first_after(out, self.opt(grads))
        return out, overflow

    def _first_after(self, out, update):
        if self.has_aux:
            return (ops.depend(out[0], update),) + out[1:]
        return ops.depend(out, update)


@dataclass
class StepNets:
    """The cells, optimizers and (B4) loss scales of one scale's training step."""

    g: Generator
    d: Discriminator
    avg_g: Generator
    opt_d: nn.Adam
    opt_g: nn.Adam
    scale_d: DynamicLossScale | None = None
    scale_g: DynamicLossScale | None = None


def train_cells(nets: StepNets, cfg, group_size: int = 1) -> tuple[OptimizerStep, OptimizerStep]:
    """Return the D and G update cells: D on ``(real, fake, alpha, mix)``, G on ``(z, alpha)``."""
    train_d = OptimizerStep(_DStepLoss(nets.d, cfg), nets.opt_d, has_aux=True, scaler=nets.scale_d,
                            group_size=group_size)
    train_g = OptimizerStep(GeneratorLoss(nets.g, shared_twin(nets.d)), nets.opt_g, has_aux=False,
                            scaler=nets.scale_g, group_size=group_size)
    return train_d, train_g


def fade_real_images(real, alpha):
    """Return the real batch blended with its down-and-up-sampled version by alpha (spec §3)."""
    return alpha * upscale2x(avgpool2x(real)) + (1.0 - alpha) * real


def build_step(nets: StepNets, cfg, *, fade_real: bool, group_size: int = 1):
    """Return the fused step ``(real, z_d, z_g, alpha, mix) -> (loss_d, loss_g, gp, drift, overflow_d, overflow_g)``.

    One ``ms.jit`` function: D update, G update and EMA. ``fade_real`` blends the real batch by alpha
    (off for scale 4 and under ModelZoo D3). With ``group_size > 1`` gradients are averaged across ranks.
    """
    train_d, train_g = train_cells(nets, cfg, group_size)
    ema = _EMA(nets.avg_g, nets.g, cfg.ema_decay)
    g = nets.g

    @ms.jit
    def step(real, z_d, z_g, alpha, mix):
        if fade_real:
            real = fade_real_images(real, alpha)
        fake = ops.stop_gradient(g(z_d, alpha))
        (loss_d, gp, drift), overflow_d = train_d(real, fake, alpha, mix)
        loss_g, overflow_g = train_g(z_g, alpha)
        loss_g = ops.depend(loss_g, ema())
        return loss_d, loss_g, gp, drift, overflow_d, overflow_g

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

    def iteration_inputs(self, batch: int, latent: int, mix) -> tuple[Tensor, Tensor, Tensor]:
        """Return (z_d, z_g, mix()) of one iteration, drawn in that order."""
        return self.latents(batch, latent), self.latents(batch, latent), mix()

    def fixed_normal_mix(self, batch: int) -> Tensor:
        """Return N(0, 1) mixing factors (ModelZoo D6: drawn once and fixed for a compiled graph)."""
        return Tensor(self.rng.standard_normal((batch, 1, 1, 1)).astype(np.float32))

    def get_state(self) -> dict:
        """Return the generator state (JSON-serialisable)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state returned by ``get_state``."""
        self.rng.bit_generator.state = state
