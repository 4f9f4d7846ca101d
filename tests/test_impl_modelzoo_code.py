"""``step-time --impl modelzoo-code``: a ModelZoo checkout imported as it is (a stand-in here), timed with the same
records; the CPU shims applied, recorded and undone; a bad checkout is one line and exit 2."""
import sys
from pathlib import Path

import mindspore as ms
import pytest
from mindspore import nn

from harness.cli import main
from harness.impls import modelzoo_code
from harness.impls.modelzoo_shims import OVERFLOW_SHIM, POOL_SHIM, cpu_shims
from harness.scenarios.registry import context, get

STANDIN = Path(__file__).parent / "modelzoo_standin"  # tests' own stand-in: the ModelZoo's names, tiny networks
TINY = {"scales": "[4,8]", "depth": "[8,8]", "latent": "16", "num_batch": "[8,8]", "alpha_jumps": "[0,2]",
        "alpha_size_jumps": "[1,1]", "batch_size": "4", "batch_size_list": "[4,2]", "iters": "2", "warmup": "1",
        "synthetic_n": "8"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Records of one step-time run of the stand-in checkout, and the state of the process around it."""
    original = nn.TrainOneStepWithLossScaleCell.get_overflow_status
    mode = ms.get_context("mode")
    ctx = context("step-time", run_id="mz", out_dir=tmp_path_factory.mktemp("out"), seed=3, meta={},
                  overrides={**TINY, "impl": "modelzoo-code", "modelzoo_dir": str(STANDIN)})
    records = get("step-time").run(ctx).records
    return records, original, mode


def test_records_carry_the_implementation_shims_and_checkout(run, impl_step_records):
    records, *_ = run
    steps = impl_step_records(records, {
        "impl": "modelzoo-code", "structure": "modelzoo-3graph", "shims": [OVERFLOW_SHIM, POOL_SHIM],
        "checkout_sha256": modelzoo_code.checkout_sha256(STANDIN.resolve()),
        "latent": 8})  # read from the checkout's own build_noise_data, not the harness config (16)
    assert (steps[4, "stable"]["labels"]["lr_d"], steps[8, "stable"]["labels"]["lr_d"]) == (0.001, 0.002)  # lr_list
    assert {r["labels"]["scale"] for r in records if r["metric"] == "host_ema_time"} == {4, 8}


def test_the_process_is_left_as_it_was(run):
    _, original, mode = run
    assert nn.TrainOneStepWithLossScaleCell.get_overflow_status is original
    assert ms.get_context("mode") == mode
    assert not {"train", "src", "model_utils", "src.network_D"} & set(sys.modules)
    assert str(STANDIN.resolve()) not in sys.path


def test_pool_shim_takes_the_checkouts_gpu_branch_on_cpu_only():
    with modelzoo_code.imported_checkout(STANDIN.resolve()) as co:
        t, nd = co.train, co.network_d
        g, d, a = t.construct_network(None, None, None, 4, 4)
        with cpu_shims("CPU", nd) as shims:
            _, shimmed, _ = t.construct_network(g, d, a, 4, 8)
        assert shims == [OVERFLOW_SHIM, POOL_SHIM] and isinstance(shimmed.avgPool2d, nd.CustomMaxPool2x2)
        _, plain, _ = t.construct_network(g, d, a, 4, 8)
        assert not isinstance(plain.avgPool2d, nd.CustomMaxPool2x2)  # undone: their own choice (MaxPool off GPU)
        with cpu_shims("Ascend", nd) as shims:
            _, other, _ = t.construct_network(g, d, a, 4, 8)
        assert shims == [] and not isinstance(other.avgPool2d, nd.CustomMaxPool2x2)


def test_without_the_overflow_shim_the_checkout_does_not_run_on_cpu(tmp_path, monkeypatch):
    """The shim is what makes the checkout run: its loss-scale cell takes the Ascend overflow path on CPU."""
    import contextlib

    monkeypatch.setattr(modelzoo_code, "cpu_shims", lambda device, nd: contextlib.nullcontext([]))
    ctx = context("step-time", run_id="noshim", out_dir=tmp_path, seed=3, meta={},
                  overrides={**TINY, "scales": "[4]", "depth": "[8]", "num_batch": "[8]", "alpha_jumps": "[0]",
                             "batch_size_list": "[]", "alpha_size_jumps": "[1]", "impl": "modelzoo-code", "modelzoo_dir": str(STANDIN)})
    with pytest.raises(RuntimeError, match="NPUGetFloatStatus|NPUClearFloatStatus"):
        get("step-time").run(ctx)


@pytest.mark.parametrize("sets, message", [
    (["--impl", "modelzoo-code"], "--impl modelzoo-code needs --set modelzoo_dir=PATH"),
    (["--impl", "modelzoo-code", "--set", "modelzoo_dir=/no/such/dir"], "modelzoo_dir=/no/such/dir: no such folder"),
    (["--impl", "modelzoo-code", "--set", f"modelzoo_dir={STANDIN / 'src'}"], "not a ModelZoo PGAN checkout (missing "
                                                                             "train.py, 910_config.yaml"),
    (["--set", f"modelzoo_dir={STANDIN}"], "--set modelzoo_dir applies to --impl modelzoo-code, not --impl pgan_ref"),
    (["--impl", "modelzoo-code", "--set", f"modelzoo_dir={STANDIN}", "--devices", "2"],
     "--impl modelzoo-code runs on one device; drop --devices 2"),
])
def test_bad_checkout_is_one_line_and_exit_2(sets, message, tmp_path, usage_error):
    usage_error(main(["run", "step-time", "--out", str(tmp_path), *sets]), message)
    assert not (tmp_path / "records.jsonl").exists()


def test_impl_on_a_scenario_without_implementations_is_exit_2(tmp_path, usage_error):
    usage_error(main(["run", "mindir-latency", "--impl", "modelzoo-code", "--out", str(tmp_path)]),
                "only step-time takes --impl")
