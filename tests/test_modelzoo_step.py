"""B4 dynamic loss scaling and the B9 three-graph step with host-side EMA, against today's fused step.

Independent truths: golden values of the fused step recorded from the code before B4/B9 existed (main at
b4230bd, same inputs), the ``nn.DynamicLossScaleUpdateCell`` rule written out by hand, and exact
power-of-two scaling (a loss scaled by 2**k and unscaled is bit-identical while nothing overflows).
"""
import hashlib
import json

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor

from pgan_ref.config import load_config
from pgan_ref.config import FUSED, THREE_GRAPH
from pgan_ref.scale_step import build_scale, grow
from pgan_ref.synthetic import write_synthetic
from pgan_ref.trainer import Trainer

TINY = {"scales": [4, 8], "depth": [8, 8], "num_batch": [3, 3], "alpha_jumps": [0, 2],
        "alpha_size_jumps": [1, 1], "batch_size": 4, "latent": 8, "num_workers": 1}
# The fused step of b4230bd (before B4/B9) on ``_inputs(2)`` from grow(cfg, 1, None, 0) at alpha 0.5:
# (loss_d, loss_g, gp, drift) per step as float.hex, then sha256 of G, D, AvG parameter bytes after both steps.
# The sha256 was re-pinned when EqualizedLinear moved to MatMul(transpose_b=True): losses stayed bit-identical,
# one parameter (G.format.weight) differs by 5.5e-10 relative (GEMM rounding in its gradient).
# Re-pinned again when the pixel norm became ``x * rsqrt`` (as the ModelZoo and pytorch_GAN_zoo write it):
# loss_d, gp and step 1's drift stayed bit-identical; loss_g moved by 7.3e-7 / 1.4e-5 relative (last bits of G),
# step 2's drift by 3.2e-7; 26 of 38 parameters differ, by at most 1.5e-6 relative (G.format.bias).
GOLDEN = [["0x1.14c3ec0000000p+4", "-0x1.4dbf5c0000000p-3", "0x1.095ef20000000p+4", "0x1.7f6e5a0000000p-13"],
          ["0x1.c6bf240000000p+3", "0x1.8afef00000000p-6", "0x1.aaff020000000p+3", "0x1.20f85c0000000p-13"]]
GOLDEN_SHA = "15d6ce930a91d42098a3eecbf2968324d25f71061da0d5f5804dc5cb39d92c6a"


def tiny_cfg(**over):
    return load_config(preset="cpu-smoke", overrides={**TINY, **over})


def _inputs(n: int, seed: int = 5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        real = Tensor(rng.uniform(-1, 1, (4, 3, 8, 8)).astype(np.float32))
        z1, z2 = (Tensor(rng.standard_normal((4, 8)).astype(np.float32)) for _ in range(2))
        out.append((real, z1, z2, Tensor(np.float32(0.5)), Tensor(rng.random((4, 1, 1, 1)).astype(np.float32))))
    return out


def _scale8(cfg, structure=None):
    """A scale-8 step (fade on) built by the one builder from freshly grown, seeded (identical) networks."""
    return build_scale(cfg, 1, [], None, nets=grow(cfg, 1, None, 0), structure=structure)


def _params(st) -> dict:
    n = st.nets
    return {f"{k}:{p.name}": p.asnumpy().copy() for k, net in (("G", n.g), ("D", n.d), ("AvG", n.avg_g))
            for p in net.trainable_params()}


def _run(st, steps):
    """Run the step on prepared inputs; return per step (loss_d, loss_g, gp, drift, ovf_d, ovf_g, scale_d, scale_g)."""
    rows = []
    for inputs in steps:
        out = st.step(*inputs)
        rows.append([float(o.asnumpy()) for o in out[:4]] + [bool(out[4].asnumpy()), bool(out[5].asnumpy())]
                    + [s.value() for s in (st.nets.scale_d, st.nets.scale_g) if s is not None])
    return rows


# ---------------------------------------------------------------- B4 off: today's step, bit for bit

def test_b4_off_fused_step_equals_the_previous_step_bit_for_bit():
    st = _scale8(tiny_cfg())
    assert st.structure == FUSED and st.scalers() == {}
    rows = _run(st, _inputs(2))
    assert [[v.hex() for v in r[:4]] for r in rows] == GOLDEN
    assert not any(r[4] or r[5] for r in rows)
    h = hashlib.sha256()
    for p in _params(st).values():
        h.update(p.tobytes())
    assert h.hexdigest() == GOLDEN_SHA


# ---------------------------------------------------------------- B4 on

@pytest.fixture(scope="module")
def huge():
    """Fused and three-graph steps with B4 on, initial scale 2**127 and factor 4 (window 4), 3 steps each."""
    cfg = tiny_cfg(**{"deviations.b4_dynamic_loss_scale": True, "loss_scale_value": 127, "scale_factor": 4})
    out = {}
    for structure in (FUSED, THREE_GRAPH):
        st = _scale8(cfg, structure)
        before = [_params(st)]
        rows = []
        for inputs in _inputs(3):
            rows += _run(st, [inputs])
            before.append(_params(st))
        out[structure] = (st, rows, before)
    return cfg, out


@pytest.mark.parametrize("structure", [FUSED, THREE_GRAPH])
def test_b4_huge_initial_scale_overflows_skips_the_update_and_divides(huge, structure):
    cfg, out = huge
    st, rows, snaps = out[structure]
    first = rows[0]
    assert first[4], "D's first step must overflow at 2**127"
    expected_scale = 2.0 ** 127 / 4
    assert first[6] == expected_scale
    for prefix in ("D:", "optD"):  # D's weights unchanged by the skipped update
        for k in snaps[0]:
            if k.startswith(prefix):
                np.testing.assert_array_equal(snaps[0][k], snaps[1][k])
    # every step, each network: overflow => its weights unchanged and scale / factor; else weights moved
    for i, row in enumerate(rows):
        for net, flag in (("D:", row[4]), ("G:", row[5])):
            moved = any(not np.array_equal(snaps[i][k], snaps[i + 1][k]) for k in snaps[i] if k.startswith(net))
            assert moved != flag, f"step {i} {net} overflow={flag} but weights moved={moved}"


def test_b4_three_graph_and_fused_agree_on_overflow_flags_and_scales(huge):
    _, out = huge
    for a, b in zip(out[FUSED][1], out[THREE_GRAPH][1]):
        assert a[4:] == b[4:]


def _rule(scale, factor, window, flags):
    """nn.DynamicLossScaleUpdateCell written out: the scale after each step given the overflow flags."""
    cur, last, out = 1, 0, []
    for ovf in flags:
        if ovf:
            scale = max(scale / factor, 1.0)
        grow_now = cur - last >= window
        if ovf or grow_now:
            last = cur
        if grow_now and not ovf:
            scale *= factor
        cur += 1
        out.append(scale)
    return out


def test_b4_scale_grows_after_window_clean_steps_and_power_of_two_scaling_is_exact():
    """Scale 2**0, factor 2 (window 2): no overflow, scale 1, 2, 2, 4, 4; every loss and weight bit-identical to B4 off."""
    on = _scale8(tiny_cfg(**{"deviations.b4_dynamic_loss_scale": True, "loss_scale_value": 0, "scale_factor": 2}))
    off = _scale8(tiny_cfg())
    steps = _inputs(5, seed=9)
    rows_on, rows_off = _run(on, steps), _run(off, steps)
    assert not any(r[4] or r[5] for r in rows_on)
    assert [r[6] for r in rows_on] == [r[7] for r in rows_on] == [1.0, 2.0, 2.0, 4.0, 4.0] == _rule(1.0, 2, 2, [0] * 5)
    assert [r[:4] for r in rows_on] == [r[:4] for r in rows_off]
    p_on, p_off = _params(on), _params(off)
    for k in p_off:
        np.testing.assert_array_equal(p_on[k], p_off[k])


def test_dynamic_rule_reference_matches_the_card_semantics():
    # overflow divides at once; growth only after `window` clean steps counted from the last overflow or growth
    assert _rule(1000.0, 10, 3, [1, 0, 0, 0, 0, 0, 1]) == [100.0, 100.0, 100.0, 1000.0, 1000.0, 1000.0, 100.0]


# ---------------------------------------------------------------- B9: three graphs + host EMA == fused

@pytest.fixture(scope="module")
def both_structures():
    cfg = tiny_cfg(**{"deviations.b9_modelzoo_step_structure": True})
    steps = _inputs(3, seed=13)
    fused, three = _scale8(cfg, FUSED), _scale8(cfg)
    assert three.structure == THREE_GRAPH
    return fused, three, _run(fused, steps), _run(three, steps)


def test_b9_three_graph_step_equals_fused_losses_and_weights(both_structures):
    fused, three, rows_f, rows_3 = both_structures
    np.testing.assert_allclose(np.array(rows_3)[:, :4], np.array(rows_f)[:, :4], rtol=1e-5, atol=1e-6)
    p_f, p_3 = _params(fused), _params(three)
    for k in p_f:
        if not k.startswith("AvG"):
            np.testing.assert_allclose(p_3[k], p_f[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_b9_host_ema_equals_compiled_ema(both_structures):
    fused, three, _, _ = both_structures
    p_f, p_3 = _params(fused), _params(three)
    avg = [k for k in p_f if k.startswith("AvG")]
    assert avg
    for k in avg:
        np.testing.assert_allclose(p_3[k], p_f[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert three.step.last_ema_s > 0


def _compiled_forward(net):
    @ms.jit
    def forward(z, alpha):
        return net(z, alpha)
    return forward


def test_b9_host_ema_is_seen_by_graphs_compiled_afterwards(both_structures):
    """The set_data EMA replaces AvG's buffers: a graph compiled later (eval, export) sees the averaged weights."""
    fused, three, _, _ = both_structures
    z = Tensor(np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32))
    alpha = Tensor(np.float32(0.5))
    outs = [_compiled_forward(st.nets.avg_g)(z, alpha).asnumpy() for st in (fused, three)]
    # atol 1e-5: the two structures round differently (in-graph vs host EMA); since the pixel norm became
    # x * rsqrt one element of 768 differs by 2.7e-6 (outputs ~1); the untouched weights differ by far more.
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    untouched = grow(tiny_cfg(), 1, None, 0)[2](z, alpha).asnumpy()
    assert np.abs(outs[1] - untouched).max() > 0  # and they are not the initial weights


# ---------------------------------------------------------------- through the trainer: log and steps record

def test_trainer_logs_overflow_true_and_records_flags_and_scales(tmp_path):
    data = tmp_path / "data"
    write_synthetic(data, n=8)
    cfg = load_config(preset="cpu-smoke", variant="modelzoo",
                      overrides={**TINY, "scales": [4], "depth": [8], "num_batch": [4], "alpha_jumps": [0],
                                 "alpha_size_jumps": [1], "loss_scale_value": 127, "log_every": 1})
    lines = []
    Trainer(cfg, data, tmp_path / "ckpt", log=lines.append, progress=False).run()
    rows = [json.loads(x) for x in (tmp_path / "ckpt" / "steps_rank0.jsonl").read_text().splitlines()]
    step_lines = [x for x in lines if x.startswith("batch_i:")]
    assert len(rows) == len(step_lines) == 4
    divided = float(np.float32(2.0 ** 127) * np.reciprocal(np.float32(10)))  # the cell's float32 arithmetic
    assert rows[0]["overflow_d"] is True and rows[0]["loss_scale_d"] == divided
    for row, line in zip(rows, step_lines):  # the log prints G's flag, as the ModelZoo's loop does
        assert f"overflow:{row['overflow_g']}," in line
    assert any(r["overflow_g"] for r in rows) and any("overflow:True," in x for x in step_lines)


def test_resume_restores_the_loss_scales_and_reproduces_the_run_exactly(tmp_path):
    """B4 + B9: stop mid-scale, resume from the last checkpoint; every step equals the uninterrupted run."""
    data = tmp_path / "data"
    write_synthetic(data, n=8)
    cfg = load_config(preset="cpu-smoke", variant="modelzoo",
                      overrides={**TINY, "scales": [4], "depth": [8], "num_batch": [8], "alpha_jumps": [0],
                                 "alpha_size_jumps": [1], "loss_scale_value": 127, "scale_factor": 2,
                                 "model_save_step": 4})

    def train(ckpt, stop_after=None):
        Trainer(cfg, data, ckpt, log=None, progress=False, stop_after=stop_after).run()
        return [json.loads(x) for x in (ckpt / "steps_rank0.jsonl").read_text().splitlines()]

    full = train(tmp_path / "full")
    train(tmp_path / "resumed", stop_after=5)  # checkpoint after 3 steps ((3 + 1) % 4 == 0)
    rows = train(tmp_path / "resumed")
    assert [r["i"] for r in rows][-5:] == [3, 4, 5, 6, 7]  # the resumed run: from the checkpoint after step 3
    keys = ("loss_d", "loss_g", "gp", "drift", "overflow_d", "overflow_g", "loss_scale_d", "loss_scale_g")
    assert any(r["overflow_d"] for r in full) and len({r["loss_scale_d"] for r in full}) > 1
    for r in rows:
        assert {k: r[k] for k in keys} == {k: full[r["i"]][k] for k in keys}, r["i"]
