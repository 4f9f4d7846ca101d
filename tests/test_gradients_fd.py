"""Finite-difference check of the D-step gradients, gradient penalty included, in the mode training uses.

The analytic gradients come from ``ms.jit(ms.value_and_grad(cell, None, d.trainable_params()))`` exactly as
the training step builds them (the GP's second-order gradient is only right compiled). The finite
differences use PyNative forward passes after ``Parameter.set_data`` (a compiled forward might not see
host-side ``set_data``); the forward pass, including the GP's first-order input gradient, is right in PyNative.

The GP ``(||grad_x D|| - 1)^2`` is a function of D's input gradient, and with LeakyReLU 0.2 that gradient
jumps whenever a pre-activation crosses 0 while the weights move: the loss is then discontinuous along the
FD segment and central differences are meaningless there. The strict per-parameter tests therefore use
``leak=1.0`` (no kink, and still every conv/matmul/mean/minibatch-stddev second-order path); the leak-0.2
network is checked along one random direction with a small step.
"""
import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn

from pgan_ref.losses import DiscriminatorLoss
from pgan_ref.networks import Discriminator

BATCH, DEPTHS, RES = 4, [16, 16], 8  # two scales (8x8 input): block, both fromRGB (fade), mbstd head
MIX = np.array([0.2, 0.5, 0.7, 0.9], np.float32).reshape(BATCH, 1, 1, 1)  # fixed GP mixing factors
ALPHA = 0.3  # mid-fade: the old fromRGB path contributes too


class _LossPart(nn.Cell):
    """One output of DiscriminatorLoss: 0 = total, 1 = GP."""

    def __init__(self, d, which: int, lambda_gp: float = 10.0):
        super().__init__(auto_prefix=False)
        self.loss = DiscriminatorLoss(d, lambda_gp, 0.001)
        self.which = which

    def construct(self, real, fake, alpha, mix):
        return self.loss(real, fake, alpha, mix)[self.which]


def _make_d(leak: float, seed: int, maxpool: bool = False) -> Discriminator:
    d = Discriminator(DEPTHS, leak=leak, seed=seed, maxpool=maxpool)
    rng = np.random.default_rng(seed + 100)
    for name, p in d.parameters_and_names():
        if name.endswith("bias"):  # non-zero biases: no exact ties at 0, biases get real gradients
            p.set_data(Tensor(rng.normal(0, 0.5, p.shape).astype(np.float32)))
    return d


def _inputs():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (BATCH, 3, RES, RES)).astype(np.float32)
    fake = rng.uniform(-1, 1, (BATCH, 3, RES, RES)).astype(np.float32)
    assert np.abs(real - fake).mean() > 0.1  # the GP interpolates between genuinely different images
    return Tensor(real), Tensor(fake), Tensor(np.float32(ALPHA)), Tensor(MIX)


class _Case:
    """A D, a loss part, the compiled analytic gradients at the base weights, and a PyNative FD evaluator."""

    def __init__(self, leak: float, which: int, seed: int, maxpool: bool = False):
        self.d = _make_d(leak, seed, maxpool)
        self.cell = _LossPart(self.d, which)
        self.args = _inputs()
        self.params = self.d.trainable_params()
        self.names = [n for n, _ in self.d.parameters_and_names()]
        value, grads = ms.jit(ms.value_and_grad(self.cell, None, self.params))(*self.args)
        self.value = float(value.asnumpy())
        self.grads = {n: g.asnumpy() for n, g in zip(self.names, grads)}
        self.base = {n: p.asnumpy().copy() for n, p in zip(self.names, self.params)}

    def loss_at(self, deltas: dict) -> float:
        """Return the PyNative loss with base weights + deltas (restored afterwards)."""
        try:
            for n, p in zip(self.names, self.params):
                if n in deltas:
                    p.set_data(Tensor((self.base[n] + deltas[n]).astype(np.float32)))
            return float(self.cell(*self.args).asnumpy())
        finally:
            for n, p in zip(self.names, self.params):
                if n in deltas:
                    p.set_data(Tensor(self.base[n]))

    def directional(self, direction: dict, h: float) -> tuple[float, float]:
        """Return (analytic, central-difference) derivative along ``direction``."""
        analytic = sum(float((self.grads[n].astype(np.float64) * v).sum()) for n, v in direction.items())
        plus = self.loss_at({n: h * v for n, v in direction.items()})
        minus = self.loss_at({n: -h * v for n, v in direction.items()})
        return analytic, (plus - minus) / (2 * h)


def _direction(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="module")
def linear_total():
    return _Case(leak=1.0, which=0, seed=3)


@pytest.fixture(scope="module")
def linear_gp():
    return _Case(leak=1.0, which=1, seed=3)


# Weight tensors of every kind of layer: 3x3 convs in the block, both 1x1 fromRGBs (new and faded-out old
# path), the 4x4 head conv that sees the mbstd channel, the dense layer and the decision layer.
WEIGHTS = ["blocks.0.conv0.weight", "blocks.0.conv1.weight", "from_rgb.1.weight", "from_rgb.0.weight",
           "scale0_conv.weight", "scale0_dense.weight", "decision.weight"]


def test_parameter_names_are_the_expected_ones(linear_total):
    assert set(WEIGHTS) <= set(linear_total.names)
    assert "scale0_conv.bias" in linear_total.names


@pytest.mark.parametrize("name", WEIGHTS)
def test_total_d_loss_gradient_matches_finite_differences(linear_total, name):
    case = linear_total
    v = {name: _direction(case.base[name].shape, seed=len(name))}
    analytic, fd = case.directional(v, h=1e-2)
    assert abs(fd) > 0.1  # a real, measurable derivative along v
    assert analytic == pytest.approx(fd, rel=2e-2)


@pytest.fixture(scope="module")
def leaky_total():
    return _Case(leak=0.2, which=0, seed=0)


@pytest.mark.parametrize("name", ["scale0_conv.bias", "scale0_dense.bias"])
def test_total_d_loss_bias_gradient_matches_finite_differences(leaky_total, name):
    # With leak 1 the biases' effect cancels between D(real) and D(fake) (gradients ~1e-3, below float32 FD
    # noise), so biases are checked on the LeakyReLU-0.2 network. The head biases (4x4 conv, dense) along
    # this direction cross no kink within |h| <= 1e-2 for seed 0 (FD at h = 1e-2, 3e-3, 1e-3 agree to
    # 0.1%); the block/fromRGB biases shift many pre-activations at once and do cross kinks.
    case = leaky_total
    v = {name: _direction(case.base[name].shape, seed=5)}
    for h in (3e-3, 1e-3):
        analytic, fd = case.directional(v, h=h)
        assert abs(fd) > 1e-2
        assert analytic == pytest.approx(fd, rel=2e-2)


@pytest.mark.parametrize("name", ["blocks.0.conv0.weight", "from_rgb.1.weight", "scale0_conv.weight",
                                  "scale0_dense.weight", "decision.weight"])
def test_gradient_penalty_alone_matches_finite_differences(linear_gp, name):
    """GP only (lambda 10, fixed mix, real != fake): the purely second-order part of the D gradient."""
    case = linear_gp
    assert case.value > 0
    v = {name: _direction(case.base[name].shape, seed=len(name) + 1)}
    analytic, fd = case.directional(v, h=1e-2)
    # the GP really depends on these weights: a dropped second-order gradient (0) would fail here
    assert abs(fd) > 1e-2
    assert analytic == pytest.approx(fd, rel=2e-2)


def test_gradient_penalty_gradient_is_not_zero_for_any_layer(linear_gp):
    # The PyNative failure mode is d GP / dw == 0; compiled, every weight tensor gets a GP gradient.
    for name in WEIGHTS:
        assert np.abs(linear_gp.grads[name]).max() > 1e-4, name


def test_leaky_relu_network_matches_finite_differences_along_a_random_direction(leaky_total):
    # LeakyReLU 0.2: the loss is only piecewise smooth (see the module docstring). Along one random unit
    # direction over all parameters, with steps of 1e-3 and 3e-3, seed 0 crosses no kink and analytic and
    # FD derivatives agree to < 1%. (Seed 3, for example, crosses one: its "FD derivative" grows like 1/h,
    # the signature of the jump in the GP, so no seed-independent tolerance would be meaningful.) The 5%
    # tolerance is loose for float32 noise on a derivative ~0.04 of a loss ~7, and tight enough to catch a
    # missing GP or drift gradient (checked below).
    case = leaky_total
    rng = np.random.default_rng(0)
    direction = {n: rng.standard_normal(case.base[n].shape) for n in case.names}
    norm = np.sqrt(sum((v * v).sum() for v in direction.values()))
    direction = {n: (v / norm).astype(np.float32) for n, v in direction.items()}
    results = [case.directional(direction, h) for h in (3e-3, 1e-3)]
    for analytic, fd in results:
        assert analytic == pytest.approx(fd, rel=5e-2)
    # a gradient without the GP's second-order part would be far off along this direction (the GP part
    # is ~60% of the derivative here)
    gp_case = _Case(leak=0.2, which=1, seed=0)
    gp_part = sum(float((gp_case.grads[n].astype(np.float64) * v).sum()) for n, v in direction.items())
    assert abs(gp_part) > 0.2 * abs(results[0][1])


def test_max_pool_d2_gradient_penalty_compiles_and_matches_finite_differences():
    """ModelZoo D2 (2x2 max pool): the GP's second-order gradient compiles (it failed with Tensor.max) and is right.

    A max pool's input gradient jumps when the weights move an argmax, like LeakyReLU's kink: at h = 1e-2
    or 1e-3 this seed's segment crosses one (FD -110, -570 vs 62.8); at h = 1e-4 it does not.
    """
    case = _Case(leak=1.0, which=1, seed=3, maxpool=True)
    for name in ("blocks.0.conv0.weight", "from_rgb.1.weight"):
        analytic, fd = case.directional({name: _direction(case.base[name].shape, seed=len(name) + 1)}, h=1e-4)
        assert abs(fd) > 1e-2
        assert analytic == pytest.approx(fd, rel=2e-2)
