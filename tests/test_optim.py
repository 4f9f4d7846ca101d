"""Optimizer and one compiled training step: Adam's first update in closed form, G/D/AvG updates, EMA formula."""
import mindspore as ms
import numpy as np
import pytest
from mindspore import Parameter, Tensor, nn

from pgan_ref.config import load_config
from pgan_ref.losses import DiscriminatorLoss
from pgan_ref.networks import local_params
from pgan_ref.scale_step import grow
from pgan_ref.train_step import NoiseSource, StepNets, build_step, make_adam, prefix_parameters

LR, BETA2, EPS = 1e-3, 0.99, 1e-8


@pytest.fixture(scope="module")
def cfg():
    c = load_config(preset="cpu-smoke")
    assert (c.lr, c.beta1, c.beta2, c.adam_eps, c.ema_decay) == (LR, 0.0, BETA2, EPS, 0.999)
    return c


class _Linear(nn.Cell):
    """``loss = sum(c * w)``: gradient exactly ``c`` whatever w is."""

    def __init__(self, n):
        super().__init__()
        self.w = Parameter(Tensor(np.linspace(-1, 1, n).astype(np.float32)), name="w")

    def construct(self, c):
        return (self.w * c).sum()


def test_first_adam_update_with_beta1_zero_is_the_closed_form(cfg):
    # nn.Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps).
    # At t=1: w -= lr * g / (|g| + eps/sqrt(1-b2)), i.e. lr*sign(g) except for |g| near eps' = 1e-7.
    net = _Linear(6)
    opt = make_adam(net, cfg, "opt")
    assert float(opt.beta1.asnumpy()) == pytest.approx(1e-12)  # beta1 "0" (nn.Adam rejects exactly 0)
    g = np.array([2.0, -0.5, 1e-3, 1e-7, -3e-7, 0.0], np.float32)
    w0 = net.w.asnumpy().copy()
    grad_fn = ms.value_and_grad(net, None, opt.parameters)

    @ms.jit
    def step(c):
        loss, grads = grad_fn(c)
        return ms.ops.depend(loss, opt(grads))

    step(Tensor(g))
    eps_eff = EPS / np.sqrt(1 - BETA2)
    expected = w0 - LR * g.astype(np.float64) / (np.abs(g) + eps_eff)
    np.testing.assert_allclose(net.w.asnumpy(), expected, rtol=0, atol=2e-7)
    delta = net.w.asnumpy() - w0
    # large gradients: a sign step of exactly lr; g = 1e-7 = eps': half a step; g = 0: no step
    np.testing.assert_allclose(delta[:3], -LR * np.sign(g[:3]), rtol=2e-3)
    assert delta[3] == pytest.approx(-LR * 0.5, rel=2e-3)
    assert delta[5] == 0.0


@pytest.fixture(scope="module")
def one_step(cfg):
    """Run one compiled scale-4 training step; return everything needed to check it."""
    g, d, avg = grow(cfg, 0, None, cfg.seed)
    g0, d0, _ = grow(cfg, 0, None, cfg.seed)  # identical untouched copies (growth is seeded)
    for cell, name in ((g, "G"), (d, "D"), (avg, "AvG")):
        prefix_parameters(cell, name)
    before = {k: {n: p.asnumpy().copy() for n, p in local_params(net).items()}
              for k, net in (("G", g), ("D", d), ("AvG", avg))}
    opt_d, opt_g = make_adam(d, cfg, "optD"), make_adam(g, cfg, "optG")
    step = build_step(StepNets(g, d, avg, opt_d, opt_g), cfg, fade_real=False)
    bs = cfg.batch_size
    rng = np.random.default_rng(7)
    real = Tensor(rng.uniform(-1, 1, (bs, 3, 4, 4)).astype(np.float32))
    noise = NoiseSource(cfg.seed, 0)
    z_d, z_g, mix = noise.latents(bs, cfg.latent), noise.latents(bs, cfg.latent), noise.mix(bs)
    alpha = Tensor(np.float32(0.0))
    loss_d, loss_g, gp, drift = (float(o.asnumpy()) for o in step(real, z_d, z_g, alpha, mix)[:4])
    after = {k: {n: p.asnumpy().copy() for n, p in local_params(net).items()}
             for k, net in (("G", g), ("D", d), ("AvG", avg))}
    return dict(before=before, after=after, losses=(loss_d, loss_g, gp, drift), g0=g0, d0=d0, d=d,
                inputs=(real, z_d, z_g, alpha, mix))


def test_step_changes_g_d_and_avg_weights(one_step):
    b, a = one_step["before"], one_step["after"]
    assert all(np.isfinite(v) for v in one_step["losses"])
    for net in ("G", "D", "AvG"):
        assert b[net].keys() == a[net].keys()
        changed = [n for n in b[net] if not np.array_equal(b[net][n], a[net][n])]
        # every weight tensor moves (biases start at 0 and get gradients too)
        assert len(changed) == len(b[net]), (net, sorted(set(b[net]) - set(changed)))


def test_step_weight_updates_are_first_adam_steps(one_step):
    # First Adam step with beta1 ~ 0: |dw| = lr |g| / (|g| + 1e-7) <= lr, and ~lr for all but tiny gradients.
    for net in ("G", "D"):
        deltas = np.concatenate([(one_step["after"][net][n] - one_step["before"][net][n]).ravel()
                                 for n in one_step["before"][net]])
        assert np.abs(deltas).max() <= LR * (1 + 1e-3)
        assert np.median(np.abs(deltas)) == pytest.approx(LR, rel=1e-2)


def test_averaged_generator_is_the_ema_of_g(one_step):
    b, a = one_step["before"], one_step["after"]
    for n in b["AvG"]:
        np.testing.assert_array_equal(b["AvG"][n], b["G"][n])  # AvG starts as a copy of G
        expected = 0.999 * b["AvG"][n].astype(np.float64) + 0.001 * a["G"][n].astype(np.float64)
        np.testing.assert_allclose(a["AvG"][n], expected, rtol=0, atol=1e-6, err_msg=n)
        # and is not simply G: it moved only 0.1% of the way
        if not np.array_equal(b["G"][n], a["G"][n]):
            assert not np.allclose(a["AvG"][n], a["G"][n], rtol=0, atol=1e-7)


def test_step_losses_match_an_independent_evaluation(one_step, cfg):
    # loss D = D loss of the pre-step D on (real, G_before(z_d)); loss G = -sum D_after(G_before(z_g)).
    # First-order values are right in PyNative, so evaluate them there on untouched copies.
    real, z_d, z_g, alpha, mix = one_step["inputs"]
    g0, d0 = one_step["g0"], one_step["d0"]
    loss_d, loss_g, gp, drift = one_step["losses"]
    fake = g0(z_d, alpha)
    total, gp0, drift0, _, _ = DiscriminatorLoss(d0, cfg.lambda_gp, cfg.epsilon_drift)(real, fake, alpha, mix)
    assert loss_d == pytest.approx(float(total.asnumpy()), rel=1e-4, abs=1e-3)
    assert gp == pytest.approx(float(gp0.asnumpy()), rel=1e-4, abs=1e-4)
    assert drift == pytest.approx(float(drift0.asnumpy()), rel=1e-4, abs=1e-6)
    # the G step sees the *updated* D
    for n, p in local_params(d0).items():
        p.set_data(Tensor(one_step["after"]["D"][n]))
    expected_g = -float(d0(g0(z_g, alpha), alpha).sum().asnumpy())
    assert loss_g == pytest.approx(expected_g, rel=1e-4, abs=1e-3)
