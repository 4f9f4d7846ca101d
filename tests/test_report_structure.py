"""Records and report for the ModelZoo step: structures side by side, projection on the trained one, skipped updates, precision meta."""
import numpy as np

from harness.records.store import make_record
from harness.report.tables import as_trained, loss_table, records_frame, step_table, structure_table

META = {"device": "CPU", "device_count": 1, "mindspore": "2.10.0", "cpu": {"brand": "Test CPU"}}
CLAIMS = {"step_time": [{"seconds": 1.1, "raw": "1.1 s/step"}]}


def rec(metric, unit, samples, labels, run="r1"):
    return make_record(run_id=run, scenario="s", metric=metric, unit=unit, value=float(np.median(samples)),
                       samples=samples, labels=labels, meta=META, params={"preset": "cpu-smoke", "variant": "modelzoo"})


def structure_records():
    base = {"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1, "iterations": 100}
    return [rec("step_time", "s", [1.0, 1.0, 1.1], {**base, "structure": "fused"}),
            rec("step_time", "s", [1.5, 1.5, 1.4], {**base, "structure": "modelzoo-3graph"}),
            rec("host_ema_time", "s", [0.3, 0.3, 0.2], {**base, "structure": "modelzoo-3graph"}),
            rec("step_time", "s", [2.0, 2.0], {**base, "structure": "fused"}, run="r2")]  # a fused-only run


def test_structure_table_puts_both_structures_side_by_side_with_the_ema_share():
    table = structure_table(records_frame(structure_records()), CLAIMS)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["fused (s)"], row["modelzoo-3graph (s)"], row["host EMA (s)"]) == (1.0, 1.5, 0.3)
    assert row["ratio 3graph/fused"] == 1.5 and row["EMA share"] == 0.3 / 1.5
    assert row["card per-step claim"] == "1.1 s/step"


def test_step_table_keeps_structures_apart_and_projection_uses_the_trained_one():
    df = records_frame(structure_records())
    table = step_table(df)
    assert sorted(table.structure) == ["fused", "modelzoo-3graph"]  # runs pool, structures do not
    assert table.set_index("structure").loc["modelzoo-3graph", "median (s)"] == 1.5
    trained = as_trained(df)
    kept = trained[trained.metric == "step_time"]
    assert sorted(zip(kept.run_id, kept.structure)) == [("r1", "modelzoo-3graph"), ("r2", "fused")]


def test_loss_table_shows_skipped_updates_per_network():
    base = {"scale": 4, "batch_size": 16, "devices": 1}
    recs = [rec("loss_d", "1", [1.0, 2.0, 3.0], base), rec("loss_g", "1", [-1.0, -2.0, -3.0], base),
            rec("skipped_updates", "steps", [1, 0, 1], {**base, "network": "D"}),
            rec("skipped_updates", "steps", [0, 0, 1], {**base, "network": "G"})]
    recs[2]["value"], recs[3]["value"] = 2, 1
    table = loss_table(records_frame(recs), {}).set_index("loss")
    assert table.loc["loss_d", "skipped updates"] == 2 and table.loc["loss_g", "skipped updates"] == 1


def test_precision_mode_is_validated_and_recorded_as_not_applied_on_cpu():
    import pytest

    from pgan_ref.config import ConfigError, load_config
    from pgan_ref.device import apply_precision

    cfg = load_config(preset="cpu-smoke", overrides={"precision_mode": "allow_fp32_to_fp16"})
    assert apply_precision(cfg, "CPU") == {"device": "CPU", "precision_mode": "allow_fp32_to_fp16", "applied": False}
    with pytest.raises(ConfigError, match="precision_mode 'fp8'"):
        load_config(preset="cpu-smoke", overrides={"precision_mode": "fp8"})
