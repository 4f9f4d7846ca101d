"""Data-parallel step-time through msrun: every rank reports, and parameters are identical across ranks."""
import json
import math

import psutil
import pytest

from harness.records.store import RecordStore
from harness.runs.runner import run_scenario

TINY = {"scales": "[4,8]", "depth": "[8,8]", "latent": "16", "num_batch": "[8,8]", "alpha_jumps": "[0,2]",
        "alpha_size_jumps": "[1,1]", "batch_size": "4", "iters": "2", "warmup": "1", "synthetic_n": "32"}


@pytest.mark.slow
def test_two_devices_identical_parameters_and_records(tmp_path):
    out = run_scenario("step-time", tmp_path, "cpu-smoke", "CPU", 2, "reference", TINY, seed=5)
    done = sorted((out).glob("msrun-*/done/rank_*.done.json"))
    assert len(done) == 2
    infos = [json.loads(p.read_text()) for p in done]
    assert all(i["status"] == "ok" for i in infos)
    checksums = [i["checksum"] for i in infos]
    assert math.isfinite(checksums[0]) and checksums[0] == checksums[1]  # DP keeps the ranks bit-identical
    recs = RecordStore(out).read()
    ranks = {r["labels"].get("rank") for r in recs if r["metric"] == "step_time"}
    assert ranks == {0, 1}
    assert all(r["labels"]["devices"] == 2 for r in recs if r["metric"] == "step_time")
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert not leftovers
