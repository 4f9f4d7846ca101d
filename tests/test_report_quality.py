"""The report's quality section, FID small-n and old-manifest flags, and the card's MS-SSIM row."""
from __future__ import annotations

import pandas as pd

from harness.records.store import make_record
from harness.report.card_table import card_rows
from harness.report.render import write_report
from harness.report.tables import fid_table, records_frame

from .test_report import META, card  # noqa: F401  (the parsed model card fixture)

V2 = {"protocol_version": 2, "n_real": 64, "n_fake": 64}


def qrec(metric, value, images_seen, n=64, manifest=V2, **labels):
    """Return a quality-scenario record of one snapshot."""
    return make_record(run_id="q1", scenario="quality", metric=metric, unit="1", value=value, meta=META,
                       labels={"scale": 32, "iteration": images_seen // 16, "images_seen": images_seen, "n": n,
                               "manifest": manifest, **labels},
                       params={"preset": "cpu-smoke", "variant": "reference", "device": "CPU"})


def quality_records():
    out = []
    for seen, fid, swd, ms in ((1024, 300.0, 90.0, 0.31), (2048, 250.0, 70.0, 0.27)):
        out += [qrec("fid", fid, seen), qrec("swd", swd, seen), qrec("ms_ssim_fake", ms, seen, pairs=32),
                qrec("ms_ssim_real", 0.21, seen, pairs=32), qrec("precision", 0.5, seen, k=3)]
    return out


def test_quality_section_plots_each_metric_against_images_seen(tmp_path):
    md = write_report(quality_records(), tmp_path).read_text()
    assert "## Quality over training" in md and "![quality](quality.png)" in md
    assert (tmp_path / "quality.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "quality.csv")
    assert len(table) == 10 and set(table.n) == {64}
    fid = table[table.metric == "fid"]
    assert fid["images seen"].tolist() == [1024, 2048] and fid.value.tolist() == [300.0, 250.0]
    assert fid["flags"].str.contains("n<50k: small-n bias").all()
    assert not table[table.metric == "swd"]["flags"].fillna("").str.contains("small-n").any()
    assert set(table[table.metric == "ms_ssim_fake"].pairs) == {"32"}  # "—" where a metric has no pairs


def test_fid_table_flags_small_n_and_v1_manifests():
    recs = [qrec("fid", 10.0, 16, n=50_000), qrec("fid", 12.0, 16, n=256, manifest={"n_real": 256})]
    table = fid_table(records_frame(recs))
    assert table.n.tolist() == [50_000, 256]
    assert table["flags"].tolist() == ["", "n<50k: small-n bias, manifest-v1: compared only with v1"]


def test_card_ms_ssim_row_cites_the_gpu_card(card):  # noqa: F811
    from harness.judge.modelcard import card_claims

    table = card_rows(records_frame(quality_records()), card_claims(card))
    row = table[table.iloc[:, 0] == "MS-SSIM"].iloc[0]
    assert "none on this card" in row["card claim"] and "GPU card claims MS-SSIM 0.2948" in row["card claim"]
    assert row["our measurement"].startswith("fake pairs 0.2700 (32 pairs, 32 px, 2048 images seen)")
