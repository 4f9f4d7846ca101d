"""Records and report for the ModelZoo step: structures and implementations side by side, projection on the trained one,
skipped updates, precision meta."""
import numpy as np

from harness.records.store import make_record
from harness.report.render import write_report
from harness.report.tables import as_trained, impl_table, loss_table, records_frame, step_table, structure_table

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


def impl_records():
    """pgan_ref (both structures, two runs) and the ModelZoo code (two runs) at 8 px stable, and 4 px pgan_ref only."""
    base = {"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1, "iterations": 100}
    mz = {**base, "structure": "modelzoo-3graph", "impl": "modelzoo-code", "shims": ["overflow", "pool"]}
    return [rec("step_time", "s", [1.0, 1.2], {**base, "structure": "fused"}),
            rec("step_time", "s", [1.5, 1.5], {**base, "structure": "modelzoo-3graph"}),
            rec("step_time", "s", [1.1, 0.9], {**base, "structure": "fused"}, run="r3"),
            rec("step_time", "s", [1.6, 1.4], {**base, "structure": "modelzoo-3graph"}, run="r3"),
            rec("step_time", "s", [0.8, 0.8], mz, run="r2"), rec("step_time", "s", [0.7, 0.9], mz, run="r4"),
            rec("compile_time", "s", [20.0], {"scale": 8, "devices": 1, "structure": "modelzoo-3graph",
                                              "impl": "modelzoo-code"}, run="r2"),
            rec("compile_time", "s", [30.0], {"scale": 8, "devices": 1, "structure": "modelzoo-3graph"}),
            rec("step_time", "s", [0.3], {**base, "scale": 4, "structure": "fused"})]


def test_impl_table_puts_the_modelzoo_code_beside_both_structures_with_ratios_to_it():
    table = impl_table(records_frame(impl_records()), CLAIMS)
    assert len(table) == 1  # 4 px has no ModelZoo-code record: no row
    row = table.iloc[0]
    assert (row.scale, row.phase, row.batch) == (8, "stable", 16)
    # medians of the samples pooled over runs: [1.0, 1.2, 1.1, 0.9] -> 1.05; [1.5, 1.5, 1.6, 1.4] -> 1.5; 0.8
    assert (row["pgan_ref fused (s)"], row["pgan_ref 3-graph (s)"], row["ModelZoo code (s)"]) == (1.05, 1.5, 0.8)
    assert row.ref == "ModelZoo code" and np.isnan(row["pytorch_GAN_zoo (s)"])
    assert row["pgan_ref fused / ref"] == 1.05 / 0.8 and row["pgan_ref 3-graph / ref"] == 1.5 / 0.8
    assert row["runs (fused, 3-graph, ModelZoo, pgz)"] == "2, 2, 2, 0" and row["card per-step claim"] == "1.1 s/step"
    assert impl_table(records_frame(structure_records()), CLAIMS).empty  # no ModelZoo-code records


def pgz_records(run="r5"):
    base = {"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1, "iterations": 100}
    return [rec("step_time", "s", [0.4, 0.6], {**base, "structure": "pgz-optimize", "impl": "pytorch-gan-zoo",
                                                "shims": ["betas", "alpha"]}, run=run),
            rec("step_time", "s", [0.2], {**base, "scale": 4, "structure": "pgz-optimize",
                                          "impl": "pytorch-gan-zoo"}, run=run)]


def test_impl_table_takes_pytorch_gan_zoo_as_the_reference_where_the_modelzoo_code_was_not_timed():
    table = impl_table(records_frame(impl_records() + pgz_records()), CLAIMS).set_index("scale")
    assert sorted(table.index) == [4, 8]  # 4 px now has a reference: pytorch_GAN_zoo
    eight, four = table.loc[8], table.loc[4]
    assert eight.ref == "ModelZoo code" and eight["pytorch_GAN_zoo (s)"] == 0.5
    assert eight["pytorch_GAN_zoo / ref"] == 0.5 / 0.8 and eight["pgan_ref fused / ref"] == 1.05 / 0.8
    assert four.ref == "pytorch_GAN_zoo" and np.isnan(four["ModelZoo code (s)"])
    assert four["pgan_ref fused / ref"] == 0.3 / 0.2 and four["pytorch_GAN_zoo / ref"] == 1.0
    assert four["runs (fused, 3-graph, ModelZoo, pgz)"] == "1, 0, 0, 1"
    assert "ModelZoo code / ref" not in table.columns and eight["card per-step claim"] == "1.1 s/step"


def test_other_implementations_keep_apart_from_ours_in_every_step_table(tmp_path):
    df = records_frame(impl_records())
    table = step_table(df).set_index(["impl", "scale", "structure"])
    assert table.loc[("modelzoo-code", 8, "modelzoo-3graph"), "median (s)"] == 0.8
    assert table.loc[("modelzoo-code", 8, "modelzoo-3graph"), "compile (s)"] == 20.0  # its own compile, not ours
    assert table.loc[("pgan_ref", 8, "modelzoo-3graph"), "median (s)"] == 1.5
    assert table.loc[("pgan_ref", 8, "modelzoo-3graph"), "compile (s)"] == 30.0
    assert structure_table(df, CLAIMS)["modelzoo-3graph (s)"].tolist() == [1.5, 1.5]  # runs r1, r3: ours only
    assert set(as_trained(df).impl.dropna()) == set()  # the card check and projection see our records only
    report = write_report(impl_records(), tmp_path).read_text()
    assert "Implementations (`step-time --impl`)" in report and (tmp_path / "implementations.csv").exists()


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


def test_the_report_renders_the_pytorch_gan_zoo_column_without_modelzoo_code(tmp_path):
    base = {"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1, "iterations": 100}
    records = pgz_records() + [rec("step_time", "s", [1.0, 1.2], {**base, "structure": "fused"})]
    report = write_report(records, tmp_path).read_text()
    section = report[report.index("Implementations (`step-time --impl`)"):]
    assert "pytorch_GAN_zoo (s)" in section and "pgan_ref fused / ref" in section
    assert "card per-step claim" in section
