"""pgan_ref reproduces pytorch_GAN_zoo's own outputs (golden fixture) and stays consistent off-fixture."""
import numpy as np
import pytest
from mindspore import Tensor

from pgan_ref.interop import load_pytorch_gan_zoo
from pgan_ref.layers import minibatch_stddev
from pgan_ref.losses import discriminator_loss, generator_loss

RTOL = 1e-4


def rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-12))


@pytest.fixture(scope="module")
def gold(fixtures_dir):
    path = fixtures_dir / "pytorch_gan_zoo_s16_a05.npz"
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    g, d = load_pytorch_gan_zoo(path)
    return data, g, d


def test_shapes_inferred_from_checkpoint(gold):
    data, g, d = gold
    latent, *depths = data["config"].tolist()
    assert g.latent == latent and g.depths == depths and d.depths == depths
    assert d.minibatch_std


def test_generator_matches(gold):
    data, g, _ = gold
    out = g(Tensor(data["z"]), float(data["alpha"])).asnumpy()
    assert rel_err(out, data["fake"]) < RTOL


@pytest.mark.parametrize("key,inp", [("d_real", "real"), ("d_fake", "fake")])
def test_discriminator_matches(gold, key, inp):
    data, _, d = gold
    out = d(Tensor(data[inp]), float(data["alpha"])).asnumpy()
    assert out.shape == (8, 1)
    assert rel_err(out[:, 0], data[key]) < RTOL


def test_losses_match(gold):
    data, _, d = gold
    alpha = float(data["alpha"])
    total, parts = discriminator_loss(d, data["real"], data["fake"], alpha, data["gp_mix"])
    assert rel_err(parts["gp"].asnumpy(), data["gp"]) < RTOL
    assert rel_err(total.asnumpy(), data["loss_d"]) < RTOL
    drift = 0.001 * np.sum(data["d_real"].astype(np.float64) ** 2)
    assert rel_err(parts["drift"].asnumpy(), drift) < RTOL
    assert rel_err(generator_loss(d, data["fake"], alpha).asnumpy(), data["loss_g"]) < RTOL


def test_minibatch_stddev_matches(gold):
    data, _, _ = gold
    assert rel_err(minibatch_stddev(Tensor(data["mbstd_in"])).asnumpy(), data["mbstd_out"]) < 1e-5


def _mbstd_numpy(x, group=4):
    """Independent numpy re-implementation of pytorch_GAN_zoo's miniBatchStdDev."""
    b, c, h, w = x.shape
    g = min(b, group)
    if b % g:
        g = b
    if g == 1:
        extra = np.zeros((b, 1, h, w), x.dtype)
    else:
        y = x.reshape(-1, g, c, h, w).astype(np.float64)
        std = np.sqrt(y.var(axis=1, ddof=1) + 1e-8).reshape(b // g, -1).mean(axis=1)
        extra = np.repeat(std, g)[:, None, None, None] * np.ones((1, 1, h, w))
    return np.concatenate([x, extra.astype(x.dtype)], axis=1)


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 6, 8, 12])
def test_minibatch_stddev_other_batch_sizes(batch):
    x = np.random.default_rng(batch).standard_normal((batch, 5, 4, 4)).astype(np.float32)
    assert rel_err(minibatch_stddev(Tensor(x)).asnumpy(), _mbstd_numpy(x)) < 1e-5


def test_alpha_one_generator_is_upscaled_previous_rgb(gold):
    """alpha = 1 must give exactly the nearest-upscaled output of the previous scale's toRGB path."""
    data, g, _ = gold
    z = Tensor(data["z"])
    full = g(z, 1.0).asnumpy()
    assert np.allclose(full[:, :, ::2, ::2], full[:, :, 1::2, 1::2])  # 2x2 blocks are constant
    assert np.allclose(full[:, :, ::2, ::2], full[:, :, ::2, 1::2])
