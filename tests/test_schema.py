"""Tests of the record schema: schema-1 records (the committed sample's) migrate; schema 2 has fixed places."""
from __future__ import annotations

import copy
import json

import pytest

from harness.judge.baseline_files import load_baseline
from harness.records.schema import SCHEMA_VERSION, Record, migrate
from harness.records.store import make_record, record_problem
from harness.report.render import write_report

from .conftest import REPO

SAMPLE = REPO / "reports" / "sample"
META = {"device": "CPU", "device_count": 1}


def sample_records() -> list[dict]:
    """Return the records of the committed sample report (written in schema 1)."""
    return json.loads((SAMPLE / "report.json").read_text())["records"]


def test_committed_schema_1_records_read_typed():
    recs = sample_records()
    assert {r["schema"] for r in recs} == {1}
    for r in recs:
        t = Record.from_dict(r)
        assert (t.run_id, t.scenario, t.metric, t.unit, t.value) == (r["run_id"], r["scenario"], r["metric"],
                                                                     r["unit"], r["value"])
        assert t.observations == (r.get("samples") or [r["value"]])
    (fid,) = [r for r in recs if r["metric"] == "fid"]
    assert Record.from_dict(fid).ci == tuple(fid["params"]["fid_bootstrap"]["ci"])
    assert Record.from_dict(fid).manifest == fid["labels"]["manifest"]


@pytest.mark.parametrize("place, expected", [({"params": {"ci": [1, 2], "fid_bootstrap": {"ci": [3, 4]}}}, (1.0, 2.0)),
                                             ({"params": {"fid_bootstrap": {"ci": [3, 4]}}}, (3.0, 4.0)),
                                             ({"labels": {"fid_bootstrap": {"ci": [5, 6]}}}, (5.0, 6.0)),
                                             ({"params": {}}, None)])
def test_migration_moves_the_ci_of_schema_1_to_its_one_place(place, expected):
    old = {**make_record(run_id="r", scenario="fid", metric="fid", unit="1", value=1.5, meta=META), **place,
           "schema": 1}
    kept = copy.deepcopy(old)
    new = migrate(old)
    assert old == kept  # the stored record is not changed
    assert new["schema"] == SCHEMA_VERSION and (tuple(new["ci"]) if "ci" in new else None) == expected
    assert Record.from_dict(old).ci == expected
    assert Record.from_dict(old).to_dict() == new  # a migrated record is stored as schema 2


def test_schema_2_records_keep_ci_and_pass_the_reader():
    rec = make_record(run_id="r", scenario="fid", metric="fid", unit="1", value=1.5, meta=META, ci=(1, 2),
                      labels={"manifest": {"n": 3}}, params={"manifest": {"n": 9}})
    read, problem = record_problem(json.dumps(rec).encode())
    assert problem is None and read["schema"] == 2 == SCHEMA_VERSION
    t = Record.from_dict(read)
    assert t.ci == (1.0, 2.0) and t.manifest == {"n": 3} and t.observations == [1.5] and t.samples is None
    assert Record.from_dict(read).to_dict() == read  # the stored dict is the typed record's
    bad = dict(rec, ci="wide")
    assert "'ci' is str" in record_problem(json.dumps(bad).encode())[1]


def test_the_sample_report_is_the_same_from_schema_1_and_from_migrated_records(tmp_path):
    """Migrating the sample's schema-1 records to schema 2 changes nothing the report shows (byte for byte)."""
    card = load_baseline(REPO / "reports" / "baselines" / "pgan_modelcard.yaml", "model-card")
    old = write_report(sample_records(), tmp_path / "v1", card).read_bytes()
    new = write_report([migrate(r) for r in sample_records()], tmp_path / "v2", card).read_bytes()
    assert old == new
    assert b"| 418.9 | [417.5, 425.1] |" in old  # the FID's CI, read from schema 1's params.fid_bootstrap.ci
