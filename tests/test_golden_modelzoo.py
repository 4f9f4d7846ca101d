"""The modelzoo variant computes what the ModelZoo's own code computes: one iteration against its golden fixtures.

The fixtures (tests/fixtures/modelzoo_golden_*.npz, README there) hold one training iteration of
mindspore-ai/models research/cv/PGAN, run unmodified. Their weights enter pgan_ref the way a user's do: written as
.ckpt files under the ModelZoo's own parameter names and loaded through ``generator_io`` / ``checkpoints``.
Compared within 1e-4 relative (max |ours - theirs| / max |theirs| per tensor): G and D forward, loss_d, loss_g, the
gradient penalty, and every gradient (Adam's first moment after one step, (1 - beta1) x gradient, in both).
"""
import json

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor

from pgan_ref.checkpoints import load_net
from pgan_ref.config import THREE_GRAPH, load_config
from pgan_ref.generator_io import build_generator, generate, resolve_architecture
from pgan_ref.interop import MODELZOO, modelzoo_names
from pgan_ref.networks import build_networks
from pgan_ref.modelzoo_rng import ModelZooNoise
from pgan_ref.networks import local_params
from pgan_ref.scale_step import build_scale, gp_mix_source, grow

RTOL = 1e-4
CASES = ["modelzoo_golden_s4_a0.npz", "modelzoo_golden_s8_a0.5.npz", "modelzoo_golden_s16_a0.25_d4.npz"]
NETS = {"G": "G", "AvG": "avgG", "D": "D"}  # our file role -> the fixture's key


def rel_err(a, b) -> float:
    """Return max |a - b| / max |b|."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)), 1e-12))


def modelzoo_cfg(meta: dict):
    """Return the modelzoo-variant config of a fixture (its depths, batch, latent 512, lr, loss scale)."""
    n = len(meta["depths"])
    return load_config(preset="cpu-smoke", variant="modelzoo", overrides={
        "scales": meta["scales"], "depth": meta["depths"], "num_batch": [4] * n, "alpha_jumps": [0] + [2] * (n - 1),
        "alpha_size_jumps": [1] * n, "batch_size": meta["batch"], "latent": meta["latent"], "lr": meta["lr_d"],
        "loss_scale_value": 12, "scale_factor": meta["scale_factor"], "num_workers": 1})


def write_modelzoo_ckpts(data: dict, meta: dict, folder) -> dict:
    """Write the fixture's pre-step G, AvG and D as .ckpt files under the names the ModelZoo saves; return paths."""
    paths = {}
    for role, key in NETS.items():
        entries = [{"name": saved, "data": Tensor(data[f"before.{key}.{attr}"])}
                   for attr, saved, _ in meta["param_names"][key]]
        paths[role] = folder / f"{role}_0.ckpt"
        ms.save_checkpoint(entries, str(paths[role]))
    return paths


@pytest.fixture(scope="module", params=CASES)
def case(request, fixtures_dir, tmp_path_factory):
    """One fixture: its arrays, meta, config, checkpoint paths, and our nets loaded from those checkpoints."""
    with np.load(fixtures_dir / request.param) as f:
        data = {k: f[k] for k in f.files}
    meta = json.loads(str(data["meta"]))
    cfg = modelzoo_cfg(meta)
    paths = write_modelzoo_ckpts(data, meta, tmp_path_factory.mktemp("mz"))
    n = len(meta["depths"])
    g, d = build_networks(cfg, n)
    avg, _ = build_networks(cfg, n)
    for net, role in ((g, "G"), (d, "D"), (avg, "AvG")):
        load_net(net, paths[role])
    return {"data": data, "meta": meta, "cfg": cfg, "paths": paths, "nets": (g, d, avg), "n": n}


@pytest.fixture(scope="module")
def stepped(case):
    """Our modelzoo-variant iteration (the ModelZoo's three-graph structure) on the fixture's inputs."""
    data, cfg = case["data"], case["cfg"]
    g, d, avg = case["nets"]
    d_real = d(Tensor(data["inputs.real"]), Tensor(data["inputs.alpha"])).asnumpy()  # before the step
    d_fake = d(Tensor(data["out.fake"]), Tensor(data["inputs.alpha"])).asnumpy()
    st = build_scale(cfg, case["n"] - 1, [], None, nets=(g, d, avg), structure=THREE_GRAPH)
    out = st.step(*(Tensor(data[k]) for k in ("inputs.real", "inputs.z_d", "inputs.z_g", "inputs.alpha", "gp_mix")))
    losses = dict(zip(("loss_d", "loss_g", "gp", "drift"), (float(o.asnumpy()) for o in out[:4])))
    return {"st": st, "losses": losses, "overflow": (bool(out[4].asnumpy()), bool(out[5].asnumpy())),
            "d_real": d_real, "d_fake": d_fake}


# ---------------------------------------------------------------- checkpoints in the ModelZoo's names

def test_modelzoo_names_equal_the_fixture_parameter_lists(case):
    meta = case["meta"]
    for key, kind, wrapped in (("G", "G", True), ("D", "D", True), ("avgG", "G", False)):
        assert [n for n, _ in modelzoo_names(kind, case["n"], wrapped=wrapped)] == \
            [saved for _, saved, _ in meta["param_names"][key]], key


def test_architecture_and_layout_read_from_a_modelzoo_checkpoint(case):
    for role in ("G", "AvG"):
        arch = resolve_architecture(case["paths"][role])
        assert (arch.latent, list(arch.depths), arch.layout) == (512, case["meta"]["depths"], MODELZOO)


# ---------------------------------------------------------------- forward

@pytest.mark.parametrize("role", ["G", "AvG"])
def test_generator_forward_from_their_checkpoint(case, role):
    """build_generator (what eval, export, fid, quality and mindir-latency use) reproduces their G(z_d, alpha)."""
    data = case["data"]
    g = build_generator(case["paths"][role])  # no config: the layout alone turns D4 on
    assert g.lrelu_torgb
    out = generate(g, data["inputs.z_d"], alpha=float(data["inputs.alpha"]))
    assert rel_err(out, data["out.fake"]) < RTOL


def test_generator_forward_equals_theirs_to_the_last_bit(case):
    """G(z_d) inside the step equals theirs to float32 rounding (pixel norm as ``x * rsqrt``, as they write it).

    Not a cosmetic tolerance: D's float16 pooling (D9) turns a last-bit difference in the fake images into
    gradients that differ by percents (x / sqrt in the pixel norm: 2.5e-5 here, D gradients 4.4e-2 off at 32 px).
    """
    data = case["data"]
    g = build_networks(case["cfg"], case["n"])[0]
    load_net(g, case["paths"]["G"])  # the pre-step weights (the case's own G is stepped)
    fake = g(Tensor(data["inputs.z_d"]), Tensor(data["inputs.alpha"])).asnumpy()
    assert rel_err(fake, data["out.fake"]) < 1e-6


def test_discriminator_forward(case, stepped):
    data = case["data"]
    assert rel_err(stepped["d_real"], data["out.d_real"]) < RTOL
    assert rel_err(stepped["d_fake"], data["out.d_fake"]) < RTOL


# ---------------------------------------------------------------- one iteration

def test_losses_and_gradient_penalty(case, stepped):
    data, ours = case["data"], stepped["losses"]
    d_real, d_fake = data["out.d_real"].astype(np.float64), data["out.d_fake"].astype(np.float64)
    their_gp = float(data["step.loss_d"][0]) + d_real.sum() - d_fake.sum() - 0.001 * (d_real ** 2).sum()
    assert rel_err(ours["loss_d"], data["step.loss_d"][0]) < RTOL
    assert rel_err(ours["loss_g"], data["step.loss_g"][0]) < RTOL
    assert rel_err(ours["gp"], their_gp) < RTOL
    assert stepped["overflow"] == (bool(data["step.overflow_d"]), bool(data["step.overflow_g"]))


@pytest.mark.parametrize("net", ["D", "G"])
def test_gradients_adam_first_moment(case, stepped, net):
    """Adam's moment 1 after the first step is (1 - beta1) x gradient in both codes: every tensor within 1e-4."""
    data, st = case["data"], stepped["st"]
    opt = st.nets.opt_d if net == "D" else st.nets.opt_g
    theirs = {ours: attr for attr, ours in _attr_names(case, net).items()}
    compared = 0
    for p, m1 in zip(opt.parameters, opt.moment1):
        ours = p.name.split(".", 1)[1]  # "D.blocks.0.conv0.weight" -> local name
        assert rel_err(m1.asnumpy(), data[f"adam.{net}.m1.{theirs[ours]}"]) < RTOL, ours
        compared += 1
    assert compared == len(theirs) == len(case["meta"]["param_names"][net])


def _attr_names(case, net: str) -> dict:
    """Return {their attribute-path name: our local name} of G, D or avgG (the fixture's keys use attribute paths)."""
    saved_to_attr = {saved: attr for attr, saved, _ in case["meta"]["param_names"][net]}
    kind, wrapped = ("G", False) if net == "avgG" else (net, True)
    return {saved_to_attr[saved]: ours for saved, ours in modelzoo_names(kind, case["n"], wrapped=wrapped)}


def test_without_d9_the_discriminator_differs_at_8px(case):
    """The float16 pooling is what makes the codes agree: the same D with D9 off misses by far more than 1e-4."""
    if case["n"] == 1:
        pytest.skip("no pooling at 4 px")
    data = case["data"]
    errs = {}
    for d9 in (True, False):
        d = build_networks(case["cfg"], case["n"])[1]
        load_net(d, case["paths"]["D"])  # the pre-step weights (the case's own nets are stepped by other tests)
        d.fp16_pool = d9
        errs[d9] = rel_err(d(Tensor(data["inputs.real"]), Tensor(data["inputs.alpha"])).asnumpy(), data["out.d_real"])
    assert errs[True] < 1e-6 and errs[False] > 2 * RTOL


def test_b6_stream_gives_their_initial_weights_latents_and_gp_mix(case):
    """B6 with their seed (1): every initial weight, both latents and the GP mix equal theirs bit for bit."""
    data, cfg, n = case["data"], case["cfg"], case["n"]
    assert cfg.deviations.b6_modelzoo_rng_stream and cfg.deviations.b2_reinit_d_at_8
    noise, prev = ModelZooNoise(case["meta"]["seed"], 0), None
    for s in range(n):  # as the trainer grows: each scale built, then its weights drawn
        g, d, avg = grow(cfg, s, prev, cfg.seed)
        noise.init_scale(g, d, avg, s, reinit_core=cfg.deviations.b2_reinit_d_at_8)
        prev = (g, d)
    for net, cell in (("G", g), ("D", d), ("avgG", avg)):
        ours = local_params(cell)
        for attr, name in _attr_names(case, net).items():
            np.testing.assert_array_equal(ours[name].asnumpy(), data[f"before.{net}.{attr}"], err_msg=f"{net} {attr}")
    z_d, z_g, mix = noise.iteration_inputs(cfg.batch_size, cfg.latent, gp_mix_source(cfg, n - 1, 0, noise))
    for ours, key in ((z_d, "inputs.z_d"), (z_g, "inputs.z_g"), (mix, "gp_mix")):
        np.testing.assert_array_equal(ours.asnumpy(), data[key], err_msg=key)
    np.testing.assert_array_equal(gp_mix_source(cfg, n - 1, 0, noise)().asnumpy(), data["gp_mix"])  # fixed after


def test_b6_state_round_trips_through_json():
    noise = ModelZooNoise(1, 0)
    noise.latents(3, 5)
    noise.fixed_normal_mix(4)
    state = json.loads(json.dumps(noise.get_state()))
    expected = (noise.latents(2, 3).asnumpy(), noise.fixed_normal_mix(4).asnumpy())
    other = ModelZooNoise(7, 0)
    other.set_state(state)
    np.testing.assert_array_equal(other.latents(2, 3).asnumpy(), expected[0])
    np.testing.assert_array_equal(other.fixed_normal_mix(4).asnumpy(), expected[1])
