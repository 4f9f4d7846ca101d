"""One scale-step builder: step-time feeds its step exactly the inputs training feeds it (the D6 drift, B6's stream),
at each scale's own batch size."""
import types

import numpy as np
import pytest
from mindspore import Tensor

import pgan_ref.scale_step as scale_step_mod
from harness.errors import BadInput
from harness.scenarios.registry import context, get
from harness.scenarios.step_time import scale_steps
from pgan_ref.config import load_config
from pgan_ref.synthetic import write_synthetic
from pgan_ref.trainer import Trainer

TINY = {"scales": [4, 8], "depth": [8, 8], "num_batch": [3, 3], "alpha_jumps": [0, 2],
        "alpha_size_jumps": [1, 1], "batch_size": 4, "latent": 8, "num_workers": 1, "model_save_step": 100}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    write_synthetic(d, n=8)
    return d


def _record_inputs(monkeypatch) -> list:
    """Replace both step builders by recorders of every step's inputs (no compile)."""
    seen = []

    def fake_builder(nets, cfg, *, fade_real, group_size=1, sync=None):
        def step(real, z_d, z_g, alpha, mix):
            seen.append([np.asarray(t.asnumpy()).copy() for t in (z_d, z_g, mix)])
            return tuple(Tensor(v) for v in (*np.float32([1, 2, 0.5, 0.1]), np.bool_(False), np.bool_(False)))
        return step

    monkeypatch.setattr(scale_step_mod, "build_step", fake_builder)
    monkeypatch.setattr(scale_step_mod, "ModelZooStep", fake_builder)
    return seen


@pytest.mark.parametrize("d6, b6", [(False, False), (True, False), (False, True), (True, True)])
def test_step_time_draws_the_mixes_and_latents_training_draws(monkeypatch, data_dir, tmp_path, d6, b6):
    """Under B6 the initial weights come first from the same stream: equal latents prove step-time drew them too."""
    cfg = load_config(preset="cpu-smoke", overrides={**TINY, "deviations.d6_gp_mix_fixed_normal": d6,
                                                     "deviations.b6_modelzoo_rng_stream": b6})
    seen = _record_inputs(monkeypatch)
    Trainer(cfg, data_dir, tmp_path, log=None, progress=False, stop_after=3).run()
    trained, seen[:] = list(seen), []
    ctx = types.SimpleNamespace(devices=1, rank=0, device="CPU", options=lambda: {"data": str(data_dir), "synthetic_n": 8})
    steps = scale_steps(ctx, cfg)
    st = next(steps)
    compute = st.compute_at(0.0)
    for _ in range(3):
        compute(st.fetch())
    steps.close()
    assert len(trained) == len(seen) == 3
    for a, b in zip(trained, seen):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    mixes = [m for _, _, m in seen]
    if d6:  # D6: one N(0,1) mix for the whole graph (negative values prove it is not U[0,1))
        assert all(np.array_equal(m, mixes[0]) for m in mixes) and mixes[0].min() < 0
    else:
        assert not np.array_equal(mixes[0], mixes[1]) and 0 <= min(m.min() for m in mixes)


def test_step_time_times_the_scales_asked_at_their_own_batch_size(monkeypatch, data_dir, tmp_path):
    seen = _record_inputs(monkeypatch)
    sets = {k: str(v) for k, v in TINY.items()}
    ctx = context("step-time", run_id="bs", out_dir=tmp_path, seed=3, meta={},
                  overrides={**sets, "batch_size_list": "[4,2]", "scales_timed": "8", "iters": "2", "warmup": "0",
                             "data": str(data_dir)})
    records = get("step-time").run(ctx).records
    steps = [r for r in records if r["metric"] == "step_time"]
    assert sorted(r["labels"]["phase"] for r in steps) == ["fade", "stable"]  # 8 px only, 4 px grown through
    assert {r["labels"]["scale"] for r in records if "scale" in r["labels"]} == {8}
    assert all(r["labels"]["batch_size"] == 2 for r in steps)  # batch_size_list[1], not batch_size (4)
    assert {z.shape[0] for z_d, z_g, _ in seen for z in (z_d, z_g)} == {2}  # the step was fed batches of 2
    with pytest.raises(BadInput, match="scales_timed=12: 12 not among the config's scales"):
        get("step-time").run(context("step-time", run_id="bad", out_dir=tmp_path, seed=3, meta={},
                                     overrides={**sets, "scales_timed": "12", "data": str(data_dir)}))
