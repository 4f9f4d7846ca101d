"""The ModelZoo deviation switches (spec §5): each changes exactly what it names, and the config plumbing.

Network-level switches (D1, D2, D4, B2) are checked by comparing reference and switched networks built
from the same seed; data/loop-level switches (D3, D6, D7, D8, B3) through the Trainer's own code path,
with ``build_step`` replaced by a recorder (no compile) and ``iterate_batches`` wrapped.
"""
import dataclasses
import logging

import numpy as np
import pytest
from mindspore import Tensor
from PIL import Image

import pgan_ref.scale_step as scale_step_mod
from pgan_ref.config import ConfigError, Deviations, PGANConfig, load_config
from pgan_ref.data import preprocess
from pgan_ref.networks import Discriminator, build_networks, local_params
from pgan_ref.synthetic import draw_face, write_synthetic
from pgan_ref.train_step import NoiseSource, StepNets, build_step, make_adam, prefix_parameters
from pgan_ref.scale_step import B2_REINIT, grow
from pgan_ref.trainer import Trainer

SWITCHES = [f.name for f in dataclasses.fields(Deviations)]
TINY = {"scales": [4, 8, 16], "depth": [8, 8, 8], "num_batch": [3, 3, 3], "alpha_jumps": [0, 2, 2],
        "alpha_size_jumps": [1, 1, 1], "batch_size": 4, "latent": 8, "num_workers": 1, "model_save_step": 100}


def tiny_cfg(**deviations) -> PGANConfig:
    over = dict(TINY)
    over.update({f"deviations.{k}": v for k, v in deviations.items()})
    return load_config(preset="cpu-smoke", overrides=over)


def as_np(t):
    return t.asnumpy() if isinstance(t, Tensor) else np.asarray(t)


# ---------------------------------------------------------------- config plumbing

def test_modelzoo_variant_turns_every_switch_on_and_reference_none():
    zoo = load_config(preset="cpu-smoke", variant="modelzoo").deviations
    ref = load_config(preset="cpu-smoke").deviations
    assert sorted(zoo.enabled()) == sorted(SWITCHES) and zoo == Deviations.all_on()
    assert ref.enabled() == [] and ref == Deviations()
    assert len(SWITCHES) == 15  # D1-D9, B2-B6, B9


@pytest.mark.parametrize("switch", SWITCHES)
def test_each_switch_alone_changes_only_its_field(switch):
    ref = load_config(preset="cpu-smoke")
    one = load_config(preset="cpu-smoke", overrides={f"deviations.{switch}": "true"})
    assert one.deviations.enabled() == [switch]
    a, b = ref.to_dict(), one.to_dict()
    assert a.pop("deviations") != b.pop("deviations")
    assert a == b  # nothing outside the switches moves
    assert ref.hash() != one.hash()  # a switched run is a different run
    # and it can be turned off again inside the modelzoo variant
    zoo_minus = load_config(preset="cpu-smoke", variant="modelzoo", overrides={f"deviations.{switch}": "false"})
    assert sorted(zoo_minus.deviations.enabled()) == sorted(set(SWITCHES) - {switch})


def test_effective_values_follow_d5_and_d7():
    ref, d5, d7 = tiny_cfg(), tiny_cfg(d5_adam_beta1_1e4=True), tiny_cfg(d7_no_mirror=True)
    assert (ref.effective_beta1(), d5.effective_beta1(), d7.effective_beta1()) == (0.0, 1e-4, 0.0)
    assert (ref.effective_mirror(), d5.effective_mirror(), d7.effective_mirror()) == (True, True, False)


def test_d5_make_adam_beta1():
    ref, d5 = tiny_cfg(), tiny_cfg(d5_adam_beta1_1e4=True)
    _, d = build_networks(ref, 1)
    b_ref = float(make_adam(d, ref, "optRef").beta1.asnumpy())
    _, d = build_networks(d5, 1)
    b_d5 = float(make_adam(d, d5, "optD5").beta1.asnumpy())
    assert b_ref == pytest.approx(1e-12) and b_ref < 1e-10  # "0" (nn.Adam requires beta1 > 0)
    assert b_d5 == pytest.approx(1e-4)


def test_unknown_deviation_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError) as e:
        load_config(preset="cpu-smoke", overrides={"deviations.d1_no_minibatch_std": "true"})
    assert "d1_no_minibatch_std" in str(e.value) and "did you mean 'd1_no_minibatch_stddev'" in str(e.value)


def test_unknown_top_level_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError) as e:
        load_config(preset="cpu-smoke", overrides={"lambda_gpp": "5"})
    assert "lambda_gpp" in str(e.value) and "did you mean 'lambda_gp'" in str(e.value)


def test_unknown_variant_is_an_error():
    with pytest.raises(ConfigError, match="modelzoo"):
        load_config(preset="cpu-smoke", variant="zoo")


# The ModelZoo's research/cv/PGAN/910_config.yaml, verbatim (two YAML documents: values, then help strings).
MODELZOO_910 = '''# Builtin Configurations(DO NOT CHANGE THESE CONFIGURATIONS unless you know exactly what you are doing)
enable_modelarts: False
# Url for modelarts
data_url: ""
train_url: ""
checkpoint_url: ""
# Path for local
data_path: "/cache/data"
output_path: "/cache/train"
load_path: "/cache/checkpoint_path"
device_target: "Ascend"


# ==============================================================================
# options
dataset_name: "celeba"
name: "celeba"
resume_load_scale: -1
batch_size: 16
train_data_path: ""
resume_check_d: "checkpoint_path/"
resume_check_g: "checkpoint_path/"
ckpt_save_dir: "./checkpoint"
model_save_step: 10000
#network
scales: [4, 8, 16, 32, 64, 128]
depth: [512, 512, 512, 512, 256, 128]
num_batch: [48000, 96000, 96000, 96000, 96000, 96000]
alpha_jumps: [0, 600, 600, 600, 600, 600]
alpha_size_jumps: [32, 32, 32, 32, 32, 32]
# optimizer and lr related
lr: 0.001
# loss related
loss_scale_value: 12
scale_factor: 10
scale_window: 1000
# export option
ckpt_file: ""
file_name: "PGAN"
file_format: "MINDIR"

---

# Help description for each configuration
enable_modelarts: "Whether training on modelarts, default: False"
data_url: "Url for modelarts"
train_url: "Url for modelarts"
data_path: "The location of the input data."
output_path: "The location of the output file."
device_target: 'Target device type'
enable_profiling: 'Whether enable profiling while training, default: False'

file_format: "choices in ['AIR', 'ONNX', 'MINDIR']"
'''


def test_modelzoo_910_config_loads_with_a_warning(tmp_path, caplog):
    path = tmp_path / "910_config.yaml"
    path.write_text(MODELZOO_910)
    with caplog.at_level(logging.WARNING, logger="pgan_ref.config"):
        cfg = load_config(path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    for key in ("enable_modelarts", "resume_check_d", "ckpt_file"):
        assert key in warnings[0]
    for key in ("loss_scale_value", "scale_factor", "scale_window"):  # read (B4), not ignored
        assert key not in warnings[0]
    assert (cfg.loss_scale_value, cfg.scale_factor, cfg.scale_window, cfg.loss_scale_window()) == (12, 10, 1000, 10)
    assert "enable_profiling" not in warnings[0]  # only in the help document, which is not config
    assert cfg.scales == [4, 8, 16, 32, 64, 128]
    assert cfg.depth == [512, 512, 512, 512, 256, 128]
    assert cfg.num_batch == [48000, 96000, 96000, 96000, 96000, 96000]
    assert cfg.alpha_jumps == [0, 600, 600, 600, 600, 600]
    assert cfg.alpha_size_jumps == [32] * 6
    assert (cfg.batch_size, cfg.lr, cfg.model_save_step, cfg.ckpt_save_dir) == (16, 0.001, 10000, "./checkpoint")
    assert (cfg.file_name, cfg.file_format) == ("PGAN", "MINDIR")
    assert cfg.variant == "reference" and cfg.deviations == Deviations()
    # the same file with the modelzoo variant: all switches on, values unchanged
    zoo = load_config(path, variant="modelzoo")
    assert zoo.deviations == Deviations.all_on() and zoo.scales == cfg.scales


def test_modelzoo_910_config_strict_mode_rejects_nothing_it_knows(tmp_path):
    # strict: the ModelZoo keys known to be unused are dropped silently, unknown ones are errors
    path = tmp_path / "910_config.yaml"
    path.write_text(MODELZOO_910)
    assert load_config(path, strict=True).scales == [4, 8, 16, 32, 64, 128]
    path.write_text(MODELZOO_910.replace("lr: 0.001", "lr: 0.001\nlrr: 0.002", 1))
    with pytest.raises(ConfigError, match="lrr"):
        load_config(path, strict=True)


# ---------------------------------------------------------------- D1: minibatch stddev

def test_d1_build_networks_drops_the_mbstd_channel():
    _, d_ref = build_networks(tiny_cfg(), 1)
    _, d_d1 = build_networks(tiny_cfg(d1_no_minibatch_stddev=True), 1)
    d0 = TINY["depth"][0]
    assert d_ref.scale0_conv.weight.shape == (d0, d0 + 1, 3, 3)
    assert d_d1.scale0_conv.weight.shape == (d0, d0, 3, 3)
    assert d_ref.minibatch_std and not d_d1.minibatch_std


def test_d1_forward_equals_reference_with_the_mbstd_channel_zeroed():
    d0 = 8
    d_ref = Discriminator([d0, d0], seed=5)
    d_d1 = Discriminator([d0, d0], seed=5, minibatch_std=False)
    ref_params = local_params(d_ref)
    for name, p in local_params(d_d1).items():
        src = ref_params[name].asnumpy()
        if name == "scale0_conv.weight":
            src = src[:, :d0]  # the same weights for the d0 feature channels
        if name.startswith("scale0_conv."):
            # equalized lr: the run-time scale is sqrt(2 / fan_in) with fan_in 9*(d0+1) vs 9*d0
            src = src * np.float32(np.sqrt(d0 / (d0 + 1)))
        p.set_data(Tensor(src.copy()))
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32))
    alpha = Tensor(np.float32(0.4))
    out_d1 = d_d1(x, alpha).asnumpy()
    out_ref = d_ref(x, alpha).asnumpy()
    assert np.abs(out_ref - out_d1).max() > 1e-3  # the mbstd channel matters in the reference
    w = ref_params["scale0_conv.weight"].asnumpy().copy()
    w[:, d0] = 0.0  # drop its contribution
    ref_params["scale0_conv.weight"].set_data(Tensor(w))
    np.testing.assert_allclose(d_ref(x, alpha).asnumpy(), out_d1, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- D2: max-pool

@pytest.fixture(scope="module")
def pool_pair():
    cfg_ref, cfg_d2 = tiny_cfg(), tiny_cfg(d2_maxpool_downsample=True)
    _, d_avg = build_networks(cfg_ref, 2)
    _, d_max = build_networks(cfg_d2, 2)
    for (n, p), (m, q) in zip(local_params(d_avg).items(), local_params(d_max).items()):
        assert n == m and np.array_equal(p.asnumpy(), q.asnumpy())  # same weights: only pooling differs
    assert d_max.maxpool and not d_avg.maxpool
    return d_avg, d_max


def test_d2_max_and_avg_pool_agree_where_pooling_cannot_tell(pool_pair):
    d_avg, d_max = pool_pair
    rng = np.random.default_rng(1)
    # Constant 2x2 blocks: max == avg for the input downsample. At alpha 1 D only sees that path.
    blocks = np.repeat(np.repeat(rng.uniform(-1, 1, (4, 3, 4, 4)), 2, axis=2), 2, axis=3).astype(np.float32)
    one = Tensor(np.float32(1.0))
    np.testing.assert_allclose(d_max(Tensor(blocks), one).asnumpy(), d_avg(Tensor(blocks), one).asnumpy(),
                               rtol=1e-5, atol=1e-5)
    # One scale: no pooling at all, any input
    d_avg1 = Discriminator([8], seed=2)
    d_max1 = Discriminator([8], seed=2, maxpool=True)
    x4 = Tensor(rng.standard_normal((4, 3, 4, 4)).astype(np.float32))
    np.testing.assert_array_equal(d_max1(x4, one).asnumpy(), d_avg1(x4, one).asnumpy())


def test_d2_max_pool_changes_the_output_otherwise(pool_pair):
    d_avg, d_max = pool_pair
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    for a in (0.0, 1.0):
        alpha = Tensor(np.float32(a))
        assert np.abs(d_max(x, alpha).asnumpy() - d_avg(x, alpha).asnumpy()).max() > 1e-3
    # with blocky input the block path (3x3 convs before pooling) still differs at alpha 0
    blocks = np.repeat(np.repeat(rng.uniform(-1, 1, (4, 3, 4, 4)), 2, axis=2), 2, axis=3).astype(np.float32)
    zero = Tensor(np.float32(0.0))
    assert np.abs(d_max(Tensor(blocks), zero).asnumpy() - d_avg(Tensor(blocks), zero).asnumpy()).max() > 1e-3


# ---------------------------------------------------------------- D4: LeakyReLU on toRGB

def test_d4_lrelu_on_new_torgb_only():
    z = Tensor(np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32))
    g_ref, _ = build_networks(tiny_cfg(), 2)
    g_d4, _ = build_networks(tiny_cfg(d4_lrelu_torgb=True), 2)
    zero, one, half = (Tensor(np.float32(a)) for a in (0.0, 1.0, 0.5))
    ref0 = g_ref(z, zero).asnumpy()
    assert (ref0 < 0).any() and (ref0 > 0).any()
    np.testing.assert_allclose(g_d4(z, zero).asnumpy(), np.where(ref0 > 0, ref0, 0.2 * ref0), rtol=1e-6, atol=1e-7)
    # alpha 1: only the upsampled old toRGB, which stays linear
    np.testing.assert_array_equal(g_d4(z, one).asnumpy(), g_ref(z, one).asnumpy())
    # mid-fade: alpha * old + (1 - alpha) * lrelu(new); old = the alpha-1 output
    old = g_ref(z, one).asnumpy()
    np.testing.assert_allclose(g_d4(z, half).asnumpy(), 0.5 * old + 0.5 * np.where(ref0 > 0, ref0, 0.2 * ref0),
                               rtol=1e-5, atol=1e-6)
    # scale 4 alone: no change at all (ModelZoo applies it at scales >= 8)
    g_ref1, _ = build_networks(tiny_cfg(), 1)
    g_d41, _ = build_networks(tiny_cfg(d4_lrelu_torgb=True), 1)
    out1 = g_ref1(z, zero).asnumpy()
    assert (out1 < 0).any()
    np.testing.assert_array_equal(g_d41(z, zero).asnumpy(), out1)


# ---------------------------------------------------------------- B2: re-init of D's 4x4 head at 4 -> 8

@pytest.mark.parametrize("b2", [False, True])
def test_b2_grow_reinitialises_only_the_named_d_layers_at_8(b2):
    cfg = tiny_cfg(b2_reinit_d_at_8=b2)
    g4, d4, _ = grow(cfg, 0, None, seed=0)
    rng = np.random.default_rng(9)
    for p in list(g4.trainable_params()) + list(d4.trainable_params()):  # "trained" values, unlike any init
        p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32)))
    g8, d8, avg8 = grow(cfg, 1, (g4, d4), seed=0)
    prev_d, new_d = local_params(d4), local_params(d8)
    reinit = sorted(n for n in prev_d if n.startswith(B2_REINIT))
    assert reinit == sorted(["from_rgb.0.weight", "from_rgb.0.bias", "scale0_conv.weight", "scale0_conv.bias",
                             "scale0_dense.weight", "scale0_dense.bias"])
    for name, p in prev_d.items():
        kept = np.array_equal(new_d[name].asnumpy(), p.asnumpy())
        assert kept == (not (b2 and name in reinit)), name
    assert {"decision.weight", "decision.bias"} <= set(prev_d)
    # G is always kept and AvG restarts as a copy of G
    for name, p in local_params(g4).items():
        np.testing.assert_array_equal(local_params(g8)[name].asnumpy(), p.asnumpy())
    for name, p in local_params(g8).items():
        np.testing.assert_array_equal(local_params(avg8)[name].asnumpy(), p.asnumpy())
    if b2:  # only at the 4 -> 8 transition: growing 8 -> 16 keeps everything
        for p in d8.trainable_params():
            p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32)))
        _, d16, _ = grow(cfg, 2, (g8, d8), seed=0)
        new16 = local_params(d16)
        for name, p in local_params(d8).items():
            np.testing.assert_array_equal(new16[name].asnumpy(), p.asnumpy(), err_msg=name)


# ---------------------------------------------------------------- B3 and the noise source

def test_b3_same_latents_on_every_rank_only_when_switched_on():
    same = [NoiseSource(0, r, same_all_ranks=True).latents(4, 8).asnumpy() for r in (0, 1)]
    distinct = [NoiseSource(0, r).latents(4, 8).asnumpy() for r in (0, 1)]
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.allclose(distinct[0], distinct[1])
    np.testing.assert_array_equal(distinct[0], same[0])  # rank 0 is unaffected by the switch


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    write_synthetic(d, n=8)
    return d


@pytest.mark.parametrize("b3", [False, True])
def test_b3_through_the_trainer(data_dir, tmp_path, b3):
    cfg = tiny_cfg(b3_same_seed_all_ranks=b3)
    z = [Trainer(cfg, data_dir, tmp_path / f"r{r}", rank=r, group_size=2, log=None, progress=False)
         .noise.latents(4, 8).asnumpy() for r in (0, 1)]
    assert np.array_equal(z[0], z[1]) == b3


# ---------------------------------------------------------------- loop-level switches via the Trainer

class _Recorder:
    """Stands in for build_step (records fade_real and every step's inputs) and wraps iterate_batches."""

    def __init__(self, monkeypatch):
        self.fade_real, self.steps, self.batch_options = [], [], []
        real_iterate = scale_step_mod.iterate_batches

        def fake_build_step(nets, cfg, *, fade_real, group_size=1):  # the fused structure's builder
            self.fade_real.append(fade_real)
            s_idx = len(self.fade_real) - 1

            def step(real, z_d, z_g, alpha, mix):
                self.steps.append({"s": s_idx, "real": as_np(real), "alpha": float(as_np(alpha)),
                                   "mix": as_np(mix).copy()})
                return tuple(Tensor(v) for v in (np.float32(1.0), np.float32(2.0), np.float32(0.5), np.float32(0.1),
                                                 np.bool_(False), np.bool_(False)))
            return step

        def spy_iterate(files, scale, batch_size, **options):
            self.batch_options.append({"scale": scale, **{k: options.get(k) for k in ("crop", "mirror")}})
            return real_iterate(files, scale, batch_size, **options)

        monkeypatch.setattr(scale_step_mod, "build_step", fake_build_step)
        monkeypatch.setattr(scale_step_mod, "ModelZooStep", lambda nets, cfg, *, fade_real, group_size=1, sync=None:
                            fake_build_step(nets, cfg, fade_real=fade_real))
        monkeypatch.setattr(scale_step_mod, "iterate_batches", spy_iterate)


def run_recorded(monkeypatch, data_dir, ckpt_dir, **deviations) -> _Recorder:
    rec = _Recorder(monkeypatch)
    out = Trainer(tiny_cfg(**deviations), data_dir, ckpt_dir, log=None, progress=False).run()
    assert out["completed"]
    return rec


@pytest.fixture(scope="module")
def recorded(data_dir, tmp_path_factory):
    """Recorded runs: reference, each loop-level switch alone, and modelzoo."""
    mp = pytest.MonkeyPatch()
    runs = {}
    try:
        for name, devs in [("reference", {}), ("d3", {"d3_no_real_fade": True}),
                           ("d6", {"d6_gp_mix_fixed_normal": True}), ("d7", {"d7_no_mirror": True}),
                           ("d8", {"d8_no_crop": True}), ("all", {s: True for s in SWITCHES})]:
            runs[name] = run_recorded(mp, data_dir, tmp_path_factory.mktemp(name), **devs)
            mp.undo()
    finally:
        mp.undo()
    return runs


def test_d3_real_fade_flag_follows_the_switch(recorded):
    assert recorded["reference"].fade_real == [False, True, True]  # never at scale 4 (nothing to fade)
    assert recorded["d3"].fade_real == [False, False, False]
    assert recorded["all"].fade_real == [False, False, False]
    for name in ("d6", "d7", "d8"):
        assert recorded[name].fade_real == [False, True, True]


def test_d6_fixed_normal_mix_per_scale(recorded):
    for name in ("d6", "all"):
        steps = recorded[name].steps
        assert len(steps) == 9
        for s in range(3):
            mixes = [st["mix"] for st in steps if st["s"] == s]
            for m in mixes[1:]:
                np.testing.assert_array_equal(m, mixes[0])  # the same every step of a scale
        assert not np.array_equal(steps[0]["mix"], steps[3]["mix"])  # a new graph (scale) draws anew
    ref = recorded["reference"].steps
    for a, b in zip(ref, ref[1:]):
        assert not np.array_equal(a["mix"], b["mix"])  # fresh per step
    all_ref = np.concatenate([st["mix"].ravel() for st in ref])
    assert all_ref.min() >= 0 and all_ref.max() < 1
    # the recorded D6 mix is exactly NoiseSource.fixed_normal_mix of its own seeded stream
    cfg = tiny_cfg(d6_gp_mix_fixed_normal=True)
    expected = NoiseSource(cfg.seed + 104729, 0).fixed_normal_mix(cfg.batch_size).asnumpy()
    np.testing.assert_array_equal(recorded["d6"].steps[0]["mix"], expected)


def test_d6_fixed_normal_mix_is_standard_normal():
    m = NoiseSource(0, 0).fixed_normal_mix(20000).asnumpy()
    assert m.shape == (20000, 1, 1, 1)
    # N(0,1): 20000 samples -> mean within ~4 sigma (0.03), std ~1, about half negative, some beyond [0, 1]
    assert abs(m.mean()) < 0.03 and abs(m.std() - 1) < 0.03
    assert 0.45 < (m < 0).mean() < 0.55 and (m > 1).mean() > 0.1


def test_d7_and_d8_reach_the_data_pipeline(recorded):
    def opts(name):
        return [(o["crop"], o["mirror"]) for o in recorded[name].batch_options]

    assert opts("reference") == [(True, True)] * 3
    assert opts("d7") == [(True, False)] * 3
    assert opts("d8") == [(False, True)] * 3
    assert opts("all") == [(False, False)] * 3
    # and the batches themselves differ: D8 squashes the whole image instead of the face crop
    ref_real = recorded["reference"].steps[0]["real"]
    d8_real = recorded["d8"].steps[0]["real"]
    assert ref_real.shape == d8_real.shape and np.abs(ref_real - d8_real).max() > 0.05
    # D7: the same images in the same order, none mirrored; the reference mirrors some of them
    ref_all = np.concatenate([st["real"] for st in recorded["reference"].steps if st["s"] == 0])
    d7_all = np.concatenate([st["real"] for st in recorded["d7"].steps if st["s"] == 0])
    flipped = []
    for r, m in zip(ref_all, d7_all):
        assert np.array_equal(r, m) or np.array_equal(r, m[:, :, ::-1])
        flipped.append(not np.array_equal(r, m))
    assert any(flipped)


def test_d8_preprocess_squashes_the_whole_image():
    image = draw_face(np.random.default_rng(4))
    assert image.size == (178, 218)
    cropped = preprocess(image, 16, crop=True)
    squashed = preprocess(image, 16, crop=False)
    assert np.abs(cropped - squashed).max() > 0.1
    expected = np.asarray(image.resize((16, 16), Image.BILINEAR), np.float32).transpose(2, 0, 1) / 255 * 2 - 1
    np.testing.assert_allclose(squashed, expected, atol=1e-6)


# ---------------------------------------------------------------- D3: the real-image fade formula in the step

@pytest.fixture(scope="module")
def fade_steps():
    """Two identical scale-8 setups compiled with fade_real True / False."""
    cfg = tiny_cfg()
    steps = []
    for k, fade in enumerate((True, False)):
        g, d, avg = grow(cfg, 1, None, cfg.seed)
        for cell, name in ((g, f"G{k}"), (d, f"D{k}"), (avg, f"AvG{k}")):
            prefix_parameters(cell, name)
        opt_d, opt_g = make_adam(d, cfg, f"optD{k}"), make_adam(g, cfg, f"optG{k}")
        steps.append(build_step(StepNets(g, d, avg, opt_d, opt_g), cfg, fade_real=fade))
    return cfg, steps


def _blocky(x):
    b, c, h, w = x.shape
    pooled = x.reshape(b, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    return np.repeat(np.repeat(pooled, 2, axis=2), 2, axis=3)


def test_d3_real_fade_formula_in_the_compiled_step(fade_steps):
    cfg, (step_fade, step_plain) = fade_steps
    rng = np.random.default_rng(11)
    noise = NoiseSource(0, 0)
    bs = cfg.batch_size
    for a in (0.25, 1.0):  # both nets start identical and stay identical while the losses agree
        real = rng.uniform(-1, 1, (bs, 3, 8, 8)).astype(np.float32)
        blocky = _blocky(real)
        assert np.abs(blocky - real).max() > 0.1
        faded = (a * blocky + (1 - a) * real).astype(np.float32)
        z_d, z_g, mix = noise.latents(bs, cfg.latent), noise.latents(bs, cfg.latent), noise.mix(bs)
        alpha = Tensor(np.float32(a))
        out_fade = [float(o.asnumpy()) for o in step_fade(Tensor(real), z_d, z_g, alpha, mix)[:4]]
        out_plain = [float(o.asnumpy()) for o in step_plain(Tensor(faded), z_d, z_g, alpha, mix)[:4]]
        # at alpha 1 the D step sees only the blocky (down-then-up-sampled) real images
        np.testing.assert_allclose(out_fade, out_plain, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- lr_list / batch_size_list and B5 (train.py semantics)

def test_per_scale_lists_default_empty_and_must_match_the_scales():
    cfg = tiny_cfg()
    assert (cfg.lr_list, cfg.batch_size_list) == ([], [])
    assert [cfg.lr_d(s) for s in range(3)] == [cfg.lr_g(s) for s in range(3)] == [cfg.lr] * 3
    assert [cfg.batch_size_at(s) for s in range(3)] == [4] * 3
    for key, value in (("lr_list", "[0.001, 0.002]"), ("batch_size_list", "[4, 4, 4, 4]")):
        with pytest.raises(ConfigError, match=f"{key}.*one value per scale"):
            load_config(preset="cpu-smoke", overrides={**TINY, key: value})
    for key, value in (("lr_list", "[0.001, -1, 0.1]"), ("batch_size_list", "[4, 0.5, 4]"), ("lr_list", "3")):
        with pytest.raises(ConfigError, match=f"config key '{key}'"):
            load_config(preset="cpu-smoke", overrides={**TINY, key: value})
    assert tiny_cfg().hash() == load_config(preset="cpu-smoke", overrides={**TINY, "lr_list": "[]"}).hash()


@pytest.mark.parametrize("b5", [False, True])
def test_lr_list_gives_d_its_scale_lr_and_g_plain_lr_under_b5(b5):
    """train.py: get_optimize_d(dnet, lr_list[scale]) but get_optimizer_g(..., lr): the ModelZoo's G ignores lr_list."""
    over = {**TINY, "lr_list": "[0.004, 0.002, 0.0005]", "lr": 0.001, "deviations.b5_g_plain_lr": b5}
    cfg = load_config(preset="cpu-smoke", overrides=over)
    for s, lr in enumerate((0.004, 0.002, 0.0005)):
        st = scale_step_mod.build_scale(cfg, s, [], None, nets=grow(cfg, s, None, 0))
        got_d = float(st.nets.opt_d.learning_rate.asnumpy())
        got_g = float(st.nets.opt_g.learning_rate.asnumpy())
        assert got_d == pytest.approx(lr)
        assert got_g == pytest.approx(0.001 if b5 else lr)
        st.close()


def test_batch_size_list_sets_each_scale_batch(monkeypatch, data_dir, tmp_path):
    rec = run_recorded(monkeypatch, data_dir, tmp_path, **{})  # reference: batch_size for every scale
    assert {st["real"].shape[0] for st in rec.steps} == {4}
    monkeypatch.undo()
    rec = _Recorder(monkeypatch)
    cfg = load_config(preset="cpu-smoke", overrides={**TINY, "batch_size_list": "[2, 4, 8]"})
    Trainer(cfg, data_dir, tmp_path / "list", log=None, progress=False).run()
    for s, bs in enumerate((2, 4, 8)):
        steps = [st for st in rec.steps if st["s"] == s]
        assert steps and all(st["real"].shape[0] == st["mix"].shape[0] == bs for st in steps)


def test_b6_selects_the_modelzoo_stream_for_training(data_dir, tmp_path):
    from pgan_ref.modelzoo_rng import ModelZooNoise

    zoo = Trainer(load_config(preset="cpu-smoke", variant="modelzoo", overrides=TINY), data_dir, tmp_path / "z",
                  log=None, progress=False).noise
    ref = Trainer(tiny_cfg(), data_dir, tmp_path / "r", log=None, progress=False).noise
    assert isinstance(zoo, ModelZooNoise) and isinstance(ref, NoiseSource)
    # seed s, rank 0: numpy's legacy stream np.random.seed(s), as the ModelZoo's set_every(s)
    np.testing.assert_array_equal(zoo.latents(2, 3).asnumpy(),
                                  np.random.RandomState(TINY.get("seed", 0)).randn(2, 3).astype(np.float32))
