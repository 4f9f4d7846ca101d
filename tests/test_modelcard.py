"""Tests of model-card parsing into baseline files (the PGAN card and made-up English cards)."""
from __future__ import annotations

import json

import pytest
import yaml

from harness.cli import main
from harness.judge.baseline_files import load_baseline, save_baseline
from harness.judge.modelcard import baseline_from_model_card, card_claims, parse_loss, parse_model_card, parse_timings

from .conftest import PGAN_CARD

ENGLISH_CARD = """
# Model description

### Training Performance

| Parameters          | Ascend 910                          | GPU                      |
| ------------------- | ----------------------------------- | ------------------------ |
| Model Version       | DCGAN                               | DCGAN                    |
| Resource            | Ascend 910; CPU 2.60GHz, 192cores   | NV SMX2 V100-32G         |
| Uploaded Date       | 2021-07-05                          | 07/05/2021 (month/day/year) |
| MindSpore Version   | 1.3.0                               | 1.5.0-rc1                |
| Dataset             | CIFAR-10                            | CIFAR-10                 |
| Training Parameters | epoch=20, batch_size = 128, lr=0.0002 | epoch=20, batch_size=64, lr=0.0002 |
| Optimizer           | Adam                                | Adam                     |
| Loss                | G: [0.5 ~ 3.2], D: [0.1, 1.4]       | 1.5 ~ 2.0                |
| Speed               | 1pc: 120 ms/step; 8pcs: 130 ms/step | 1pc: 1.1 s/step          |
| Total time          | 1pc: 10h; 8pcs: 1.5h                | 8pcs: 14h 20m            |
"""

ODD_CARD = """
| Parameters | Ascend |
|---|---|
| Speed | 1p: 2h30m#; 8p: ?45m |
| Total time | about 3 h |
| Loss | G:[3 to 1] |
| Uploaded Date | 02/30/2022 |
| Training Parameters | batch_size=32, lr=0.01 |
| Extra Row | kept raw |
"""


def test_pgan_card():
    base = baseline_from_model_card(PGAN_CARD)
    c = card_claims(base)
    assert c["device"] == "Ascend" and c["column"] == "Ascend 910" and c["header"] == "参数"
    assert {e["devices"]: e["seconds"] for e in c["total_time"]} == {1: 275019, 8: 34014}
    assert c["step_time"] == [{"devices": None, "seconds": 1.1, "raw": "1.1s/step"}]
    assert c["loss_ranges"] == {"G": [-232.61, 273.87], "D": [-27.736, 2.601]}
    assert c["batch_size"] == 128 and c["lr"] == 0.001
    assert c["batch_per_device"] == {"devices": 8, "per_device": 16, "global": 128}
    assert c["mindspore_version"] == "1.3.0" and c["optimizer"] == "Adam" and c["dataset"] == "CelebA"
    assert c["rows"]["speed"]["raw"] == "8p:9h26m54S; 1p:76h23m39s; 1.1s/step"
    assert c["rows"]["speed"]["label"] == "速度"
    warnings = " ".join(base["warnings"])
    assert "09/31/2021" in warnings and "9h26m54S" in warnings
    assert len(base["source"]["sha256"]) == 64


def test_english_card_two_columns():
    base = parse_model_card(ENGLISH_CARD)
    ascend, gpu = base["tables"][0]["columns"]
    assert base["tables"][0]["title"] == "Training Performance"
    assert (ascend["device"], gpu["device"]) == ("Ascend", "GPU")
    a, g = ascend["claims"], gpu["claims"]
    assert [(e["devices"], e["seconds"]) for e in a["step_time"]] == [(1, 0.12), (8, 0.13)]
    assert [(e["devices"], e["seconds"]) for e in a["total_time"]] == [(1, 36000), (8, 5400)]
    assert a["loss_ranges"] == {"G": [0.5, 3.2], "D": [0.1, 1.4]}
    assert a["batch_size"] == 128 and a["lr"] == 0.0002 and a["training_parameters"]["epoch"] == 20
    assert g["step_time"][0]["seconds"] == 1.1 and g["total_time"][0] == {"devices": 8, "seconds": 51600,
                                                                         "raw": "8pcs: 14h 20m"}
    assert g["loss_ranges"] == {"loss": [1.5, 2.0]}
    assert g["mindspore_version"] == "1.5.0-rc1" and g["uploaded_date"] == "2021-07-05"
    assert card_claims(base, "GPU")["column"] == "GPU"
    assert base["warnings"] == []


@pytest.mark.parametrize("cell, seconds", [("1.1 s/step", 1.1), ("1.1s/step", 1.1), ("250 ms/step", 0.25),
                                           ("76h23m39s", 275019), ("9h26m54S", 34014), ("83h45m34s", 301534),
                                           ("1.5h", 5400), ("10h", 36000), ("45 min", 2700)])
def test_timing_cells(cell, seconds):
    claims, _ = parse_timings(cell)
    (entry,) = claims.get("step_time", []) + claims.get("total_time", [])
    assert entry["seconds"] == pytest.approx(seconds)


@pytest.mark.parametrize("cell", ["G:[-1 to 2] loss D:[-3 to 4]", "G: [-1, 2], D: [-3, 4]", "G:[-1~2] D:[-3 ~ 4]"])
def test_loss_separators(cell):
    assert parse_loss(cell)[0]["loss_ranges"] == {"G": [-1, 2], "D": [-3, 4]}


def test_odd_formatting_is_tolerated_and_warned():
    base = parse_model_card(ODD_CARD)
    c = card_claims(base)
    assert [(e["devices"], e["seconds"]) for e in c["total_time"]] == [(1, 9000), (8, 2700), (None, 10800)]
    assert c["loss_ranges"] == {"G": [1, 3]}
    assert c["uploaded_date"] == "02/30/2022"
    assert c["rows"]["extrarow"]["raw"] == "kept raw"
    assert "batch_per_device" in c  # 32 = 4 x 8
    text = "\n".join(base["warnings"])
    for needle in ("'#'", "'?'", "'about'", "reversed", "02/30/2022"):
        assert needle in text, needle


def test_no_table_is_a_warning():
    assert parse_model_card("# nothing here")["warnings"] == ["no '参数 | ...' / 'Parameters | ...' table found"]


def test_save_and_load_yaml_and_json(tmp_path):
    base = baseline_from_model_card(PGAN_CARD)
    for name in ("b.yaml", "b.json"):
        assert load_baseline(save_baseline(base, tmp_path / name)) == base
    (tmp_path / "x.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError):
        load_baseline(tmp_path / "x.json")


def test_baseline_command(tmp_path, capsys):
    out = tmp_path / "card.yaml"
    assert main(["baseline", "--from-model-card", str(PGAN_CARD), "--out", str(out)]) == 0
    assert "not a valid date" in capsys.readouterr().err
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["kind"] == "model-card" and data["warnings"]
    assert main(["baseline", "--from-model-card", str(PGAN_CARD)]) == 0
    assert "275019" in capsys.readouterr().out
