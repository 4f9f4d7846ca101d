"""Tests of the report: synthetic records in, markdown / CSV / JSON / PNG out."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from harness.judge.baseline_files import save_baseline
from harness.judge.modelcard import baseline_from_model_card, card_claims
from harness.judge.verdicts import Verdict
from harness.records.store import RecordStore, make_record
from harness.report.card_table import card_check_rows, card_rows
from harness.report.render import write_report
from harness.report.tables import card_iterations, hms, projection_table, projections, records_frame, step_table

from .conftest import PGAN_CARD as CARD

META = {"device": "CPU", "device_count": 1, "mindspore": "2.10.0", "cann": None, "git_commit": "abcdef1234567",
        "cpu": {"brand": "Test CPU"}, "machine_fingerprint": "f"}
SCHEDULE = {4: 48000, 8: 96000, 16: 96000}


def rec(metric, unit, samples=None, value=None, labels=None, device="CPU", flags=(), source="harness", **params):
    """Return a synthetic record."""
    meta = dict(META, device=device)
    value = value if value is not None else float(np.median(samples))
    return make_record(run_id="r1", scenario="s", metric=metric, unit=unit, value=value, samples=samples,
                       labels=labels, meta=meta, flags=flags, source=source,
                       params={"preset": "cpu-smoke", "variant": "reference", "device": device, **params})


def step_records(devices=1, device="CPU", base=0.5):
    """Return fade and stable step-time records (and compile times) for three scales of a schedule."""
    rng = np.random.default_rng(devices)
    out = []
    for scale, its in SCHEDULE.items():
        for phase in ("fade", "stable"):
            out.append(rec("step_time", "s", rng.lognormal(np.log(base * scale / 16), 0.03, 20), device=device,
                           labels={"scale": scale, "phase": phase, "batch_size": 16, "devices": devices,
                                   "iterations": its // devices}))
        out.append(rec("compile_time", "s", value=3.0, labels={"scale": scale, "devices": devices}, device=device))
    return out


def all_records():
    """Return step times on 1p and 2p, losses, an FID and latencies (one of them a one-sample 310 number)."""
    rng = np.random.default_rng(0)
    recs = step_records(1) + step_records(2)
    for scale in (4, 8):
        recs.append(rec("loss_g", "1", list(rng.normal(0, 50, 400)) + [float("nan")],
                        labels={"scale": scale, "batch_size": 16, "devices": 1}))
        recs.append(rec("loss_d", "1", list(rng.normal(-5, 3, 400)), labels={"scale": scale, "batch_size": 16}))
    recs.append(rec("fid", "1", value=42.5, labels={"manifest": {"n_fake": 500, "n_real": 500}}))
    recs.append(rec("latency", "ms", list(rng.lognormal(3, 0.1, 30)), labels={"batch_size": 64, "runtime": "mindir"}))
    recs.append(rec("latency", "ms", [812.0], labels={"batch_size": 64, "runtime": "ascend310"}, device="Ascend",
                    flags=["one-sample"], source="modelzoo-310"))
    return recs


@pytest.fixture
def card():
    """The PGAN model card parsed into a baseline."""
    return baseline_from_model_card(CARD)


def test_full_report(tmp_path, card):
    path = write_report(all_records(), tmp_path, card)
    md = path.read_text()
    for text in ("| 参数", "速度", "总时长", "收敛loss", "模型版本", "not comparable (different device)",
                 "Step time per scale", "speed-up", "Projected total training time", "Loss envelopes",
                 "single-step", "FID", "one-sample", "MindSpore 2.10.0", "preset cpu-smoke", "variant reference",
                 "step_time.png", "losses.png", "latency.png"):
        assert text in md, text
    for name in ("step_time.png", "losses.png", "latency.png", "records.csv", "report.json", "step_time.csv",
                 "speedup.csv", "card.csv", "projection.csv", "losses.csv", "latency.csv", "fid.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["tables"]["speedup"][0]["devices"] == 2
    losses = pd.read_csv(tmp_path / "losses.csv")
    assert losses[losses.loss == "loss_g"]["NaN/inf"].tolist() == [1, 1]


def test_projection_sums_schedule(card):
    df = records_frame(step_records(1, device="Ascend", base=0.5))
    table = projection_table(df, card_claims(card))
    row = table.iloc[0]
    assert row.iterations == sum(SCHEDULE.values())
    expected = sum(its * 0.5 * s / 16 for s, its in SCHEDULE.items())
    assert abs(row["mean s/it"] * row.iterations / expected - 1) < 0.05
    assert projections(df, card_claims(card))[0][1].verdict is Verdict.DIFFERS  # partial schedule vs the 1p total
    assert row.verdict == projections(df, card_claims(card))[0][1].text  # the table shows the judgement's sentence


def test_projection_charges_unmeasured_phases_at_the_measured_median(card):
    # Only the stable phase measured (as the full-width benchmark does): the fade's iterations still count.
    recs = [rec("step_time", "s", [2.0] * 5, labels={"scale": 16, "phase": "stable", "batch_size": 16, "devices": 1,
                                                      "iterations": 96000, "phase_iterations": 76800}),
            rec("step_time", "s", [1.0] * 5, labels={"scale": 8, "phase": "fade", "batch_size": 16, "devices": 1,
                                                     "iterations": 100, "phase_iterations": 40}),
            rec("step_time", "s", [3.0] * 5, labels={"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1,
                                                     "iterations": 100, "phase_iterations": 60})]
    row = projection_table(records_frame(recs), card_claims(card)).iloc[0]
    assert row.iterations == 96100
    assert row["mean s/it"] * row.iterations == pytest.approx(96000 * 2.0 + 40 * 1.0 + 60 * 3.0)


def test_timing_verdict_on_same_device(tmp_path, card):
    # Ascend step time of 1.1 s at the top scale reproduces the card's "1.1s/step".
    recs = [rec("step_time", "s", list(np.random.default_rng(0).lognormal(np.log(1.1), 0.02, 30)), device="Ascend",
                labels={"scale": 128, "phase": "stable", "batch_size": 16, "devices": 1, "iterations": 96000})]
    md = write_report(recs, tmp_path, card).read_text()
    assert "1p cpu-smoke @128px: reproduces (±10%, TOST" in md and "(different device)" not in md
    speed = _card_judgement(card_check_rows(records_frame(recs), card_claims(card)), "speed")
    assert speed.verdict is Verdict.REPRODUCES


def test_sections_without_data_are_noted(tmp_path):
    md = write_report([rec("latency", "ms", [5.0, 6.0], labels={"batch_size": 1, "runtime": "mindir"})],
                      tmp_path).read_text()
    assert "no step_time records: section omitted" in md
    assert "no model-card baseline given" in md
    assert "Inference latency" in md


def test_hms():
    assert hms(275019) == "76h23m39s" and hms(0.52) == "0.52 s"


def test_report_command(tmp_path, card):
    RecordStore(tmp_path / "res").append(all_records())
    save_baseline(card, tmp_path / "card.yaml")
    assert main(["report", "--results", str(tmp_path / "res"), "--baseline", str(tmp_path / "card.yaml"),
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").exists()
    assert main(["report", "--results", str(tmp_path / "empty"), "--out", str(tmp_path / "o2")]) == 2


def test_ingested_losses_are_not_resampled(tmp_path, card):
    # ModelZoo logs already hold one value every 100 steps: card-style sampling keeps all of them.
    steps = list(range(0, 5000, 100))
    values = [float(v) for v in np.linspace(-300, 300, len(steps))]
    r = rec("loss_g", "1", values, labels={"scale": 128, "steps": steps, "batch_size": 16},
            flags=["single-step-values"], source="modelzoo-log")
    write_report([r], tmp_path, card)
    row = pd.read_csv(tmp_path / "losses.csv").iloc[0]
    assert row["recorded every"] == 100 and row["card-style min"] == -300 and row["flags"] == "single-step-values"
    loss = _card_judgement(card_check_rows(records_frame([r]), card_claims(card)), "loss")
    assert loss.verdict is Verdict.DIFFERS  # not every sample (all kept, card style) lies in the card's G range


def _card_row(table: pd.DataFrame, label: str) -> pd.Series:
    return table[table["参数"] == label].iloc[0]


def _card_judgement(rows, key: str):
    """Return the judgement of the card row ``key`` (e.g. 'loss', 'speed')."""
    return next(r.judgement for r in rows if r.key == key)


def test_card_loss_row_is_the_envelope_of_every_step(card):
    # 32 steps per scale (fewer than one card print each): the row must show the true min/max over all steps.
    rng = np.random.default_rng(3)
    g = {s: rng.normal(0, 200, 32) for s in (4, 8)}
    d = {s: rng.normal(-10, 20, 32) for s in (4, 8)}
    recs = [rec(m, "1", list(v[s]), labels={"scale": s, "batch_size": 16}) for m, v in (("loss_g", g), ("loss_d", d))
            for s in (4, 8)]
    row = _card_row(card_rows(records_frame(recs), card_claims(card)), "收敛loss")
    allg, alld = np.concatenate(list(g.values())), np.concatenate(list(d.values()))
    assert f"G: [{allg.min():.4g} to {allg.max():.4g}] over 64 steps at 4-8px" in row["our measurement"]
    assert f"D: [{alld.min():.4g} to {alld.max():.4g}] over 64 steps" in row["our measurement"]
    inside_g = np.mean((allg >= -232.61) & (allg <= 273.87))
    inside_d = np.mean((alld >= -27.736) & (alld <= 2.601))
    assert row.verdict == (f"G: {inside_g:.0%} of 64 steps within card range; "
                           f"D: {inside_d:.0%} of 64 steps within card range")
    judgement = _card_judgement(card_check_rows(records_frame(recs), card_claims(card)), "loss")
    assert judgement.verdict is (Verdict.REPRODUCES if inside_g == inside_d == 1 else Verdict.DIFFERS)


def test_card_schedule_row_checks_the_card_against_its_own_schedule(card):
    # The card's schedule (910_config.yaml): 48k + 5 x 96k iterations on 1p, an eighth of that on 8p.
    assert card_iterations(1) == 528_000 and card_iterations(8) == 66_000
    row = _card_row(card_rows(records_frame(step_records(1)), card_claims(card)), "训练计划 (schedule)")
    assert f"= {275019 / 528000:.3f} s/it vs card 1.1 s/step: inconsistent ({1.1 / (275019 / 528000):.2f}x)" \
        in row.verdict
    assert f"= {34014 / 66000:.3f} s/it" in row.verdict and "ours (cpu-smoke): 1p 240,000 it" in row["our measurement"]
    judgement = _card_judgement(card_check_rows(records_frame(step_records(1)), card_claims(card)), "schedule")
    assert judgement.verdict is Verdict.INCONSISTENT


def test_card_training_rows_read_the_recorded_params(card):
    recs = step_records(1)
    for r in recs:
        r["params"].update(dataset="CelebA", optimizer="Adam(beta1=0, beta2=0.99)", lr=0.001)
    rows = card_check_rows(records_frame(recs), card_claims(card))
    assert [_card_judgement(rows, k).verdict for k in ("dataset", "optimizer", "training_parameters")] == [
        Verdict.SAME] * 3
    assert _card_judgement(rows, "training_parameters").text.endswith("; lr matches")
    for r in recs:
        r["params"]["lr"] = 0.002
    assert _card_judgement(card_check_rows(records_frame(recs), card_claims(card)),
                           "training_parameters").verdict is Verdict.DIFFERS


def test_step_table_gives_achieved_flops_against_the_nominal_peak():
    meta = {**META, "cpu": {"brand": "Test CPU", "count": 2, "hz_advertised": "2.0000 GHz", "avx2": True},
            "env": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}  # peak: 2 cores x 2 GHz x 8 lanes x 2 x 2 = 128 GFLOP/s
    labels = {"scale": 8, "phase": "stable", "batch_size": 16, "devices": 1}
    records = [make_record(run_id="r", scenario="step-time", metric=m, unit=u, value=v, samples=s, meta=meta,
                           labels={**labels, **extra}, params={"preset": "p", "device": "CPU"})
               for m, u, v, s, extra in [("step_time", "s", 0.5, [0.4, 0.5, 0.6], {}),
                                         ("flops_achieved", "FLOP/s", 64e9, None, {"flops_per_iteration": 32e9})]]
    (row,) = step_table(records_frame(records)).to_dict("records")
    assert row["GFLOP/s"] == pytest.approx(64.0) and row["% of peak"] == pytest.approx(50.0)


def test_ab_section_has_one_row_per_entry_with_its_verdict(tmp_path):
    from .test_ab_cli import fake_run

    run = fake_run([Verdict.NO_CHANGE, Verdict.REGRESSED])
    text = write_report(run.summary, tmp_path).read_text()
    section = text.split("## A/B comparisons", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| r ")]
    assert [row.rstrip(" |").rsplit("| ", 1)[-1].strip() for row in rows] == ["no change", "regressed"]
    assert pd.read_csv(tmp_path / "ab.csv").verdict.tolist() == ["no change", "regressed"]


def test_an_interrupted_rewrite_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    """A report rewritten over an old one and killed while writing a table keeps that table and everything written
    after it as it was (plots, drawn first, are whole new files), with no stray temporary."""
    records = [rec("latency", "ms", [5.0, 6.0], labels={"batch_size": 1, "runtime": "mindir"})]
    write_report(records, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_to_csv = pd.DataFrame.to_csv

    def killed_while_writing(self, path, **kw):
        real_to_csv(self.head(1), path, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        write_report(records + records, tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(after) == sorted(before)
    assert {k: v for k, v in after.items() if not k.endswith(".png")} == \
        {k: v for k, v in before.items() if not k.endswith(".png")}
