"""MindIR export/load/run (equality with eager, size/hash, clear errors) and the mindir-latency scenario records."""
import hashlib

import numpy as np
import pytest

from harness.scenarios.inference import (GRAPHCELL, InferenceError, available_runtimes, export_mindir, load_runtime,
    read_mindir_inputs, resolve_runtime)
from harness.scenarios.registry import context, get
from pgan_ref.generator_io import generate, sample_latents
from pgan_ref.networks import Generator

LATENT = 16


@pytest.fixture(scope="module")
def gen():
    g = Generator(LATENT, [16, 16, 8], seed=5)  # 16x16
    g.set_train(False)
    return g


@pytest.fixture(scope="module")
def exported(gen, tmp_path_factory):
    d = tmp_path_factory.mktemp("mindir")
    return {bs: export_mindir(gen, bs, d / f"G-b{bs}.mindir") for bs in (1, 4)}


@pytest.mark.parametrize("bs", [1, 4])
def test_mindir_output_equals_eager(gen, exported, bs):
    rt = load_runtime(exported[bs]["path"])
    assert rt.name == GRAPHCELL and rt.batch_size == bs
    z = sample_latents(bs, LATENT, seed=bs)
    out = rt(z, 0.0)
    assert out.shape == (bs, 3, 16, 16) and out.dtype == np.float32
    assert np.abs(out - generate(gen, z)).max() < 1e-6
    assert np.abs(rt(z, 0.5) - generate(gen, z, alpha=0.5)).max() < 1e-6  # alpha is a real input


def test_export_records_size_and_hash(exported):
    info = exported[4]
    data = info["path"].read_bytes()
    assert info["bytes"] == len(data) > 0
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["inputs"] == [{"name": "latents", "shape": [4, LATENT], "dtype": "float32"},
                              {"name": "alpha", "shape": [], "dtype": "float32"}]
    assert [i["shape"] for i in read_mindir_inputs(info["path"])] == [[4, LATENT], []]
    assert not [p for p in info["path"].parent.iterdir() if p.name.startswith(".tmp")]


def test_corrupt_mindir_is_a_clear_error(exported, tmp_path):
    data = exported[1]["path"].read_bytes()
    bad = tmp_path / "trunc.mindir"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InferenceError, match="corrupt.*re-export"):
        load_runtime(bad)
    bad.write_bytes(b"not a model at all" * 10)
    with pytest.raises(InferenceError, match="corrupt"):
        load_runtime(bad)


def test_missing_file_and_unknown_runtime(exported, tmp_path):
    with pytest.raises(InferenceError, match="does not exist"):
        load_runtime(tmp_path / "none.mindir")
    with pytest.raises(InferenceError, match="unsupported runtime 'onnxruntime'"):
        load_runtime(exported[1]["path"], runtime="onnxruntime")


def test_lite_detection_says_why():
    status = available_runtimes()
    assert set(status) == {"mindspore-graphcell", "mindspore-lite"}
    if status["mindspore-lite"].startswith("unavailable"):
        with pytest.raises(InferenceError, match="mindspore-lite is not available"):
            resolve_runtime("mindspore-lite", "CPU")
    assert resolve_runtime("auto", "CPU") == GRAPHCELL


def test_shape_mismatch_is_a_clear_error(exported):
    rt = load_runtime(exported[4]["path"])
    with pytest.raises(InferenceError, match=r"\(4, 16\).*got \(3, 16\)"):
        rt(np.zeros((3, LATENT), np.float32))
    with pytest.raises(InferenceError, match=r"got \(4, 8\)"):
        rt(np.zeros((4, 8), np.float32))


@pytest.fixture(scope="module")
def scenario_records(tmp_path_factory):
    ctx = context("mindir-latency", run_id="t-run", out_dir=tmp_path_factory.mktemp("out"),
                  overrides={"scale": "8", "batch_sizes": "1,2", "min_count": "5", "min_time_s": "0",
                             "warmup": "1"}, seed=7, meta={})
    return get("mindir-latency").run(ctx).records, ctx


def test_scenario_records(scenario_records):
    recs, ctx = scenario_records
    by = {(r["metric"], r["labels"]["batch_size"]): r for r in recs}
    for bs in (1, 2):
        lat = by["latency", bs]
        assert lat["unit"] == "ms" and lat["labels"]["phase"] == "steady"
        assert lat["labels"]["runtime"] == GRAPHCELL and lat["labels"]["scale"] == 8
        assert "untrained-weights" in lat["flags"] and len(lat["samples"]) >= 5
        assert by["mindir_max_abs_diff", bs]["value"] <= 1e-6
        assert by["throughput", bs]["value"] == pytest.approx(bs / (lat["value"] / 1e3))
        assert by["first_call_latency", bs]["value"] > 0 and by["peak_memory", bs]["unit"] == "MiB"
        assert by["eager_vs_mindir_ratio", bs]["value"] > 0
        assert len(by["mindir_size", bs]["labels"]["sha256"]) == 64
    assert not (ctx.out_dir / "mindir").exists()  # exported files are removed unless keep_mindir=true


def test_latency_percentiles_come_from_kept_samples(scenario_records):
    for rec in (r for r in scenario_records[0] if "samples" in r):
        s = np.asarray(rec["samples"])
        q1, med, q3, p90, p99 = np.percentile(s, [25, 50, 75, 90, 99])
        st = rec["stats"]
        assert st["n"] == len(s)
        assert (st["median"], st["p90"], st["p99"], st["q1"], st["q3"]) == pytest.approx((med, p90, p99, q1, q3))
        assert rec["value"] == pytest.approx(med)


def test_scenario_rejects_bad_options():
    with pytest.raises(ValueError, match="batch_sizes"):
        context("mindir-latency", run_id="t", out_dir=".", overrides={"batch_sizes": "0"})
