"""Tests of reading real ModelZoo, pytorch_GAN_zoo and 310 logs into records (``harness.logs.ingest``)."""
import hashlib
import json
import tracemalloc

import pytest

from harness.cli import main
from harness.logs import ingest

META = {"device": "unknown"}

T = "2021-08-01 10:{:02d}:{:02d}.000000"
MODELZOO = f"""\
[WARNING] ME(4242:281473,MainProcess):2021-08-01-09:59:59.123.456 [mindspore/common/_decorator.py:40] deprecated
Scale 4
Dataset size 12662
Dataset first iteration time: 2034.567 ms
batch_i:100 alpha:0.0 loss G:[-12.5] loss D:[3.25] overflow:False,time:{T.format(0, 0)}
batch_i:200 alpha:0.0 loss G:[[-10.0]] loss D:Tensor(shape=[], dtype=Float32, value= 1.5) overflow:[False],time:{T.format(0, 50)}
Intermediate: epoch 0 step 200, per_step_time 480.000 ms, (not including the data loader time per step 20.000 ms)
batch_i:300 alpha:0.0 loss G:-9.0 loss D:1e-1 overflow:True,time:{T.format(1, 40)}
epoch 0 time: 150000.000 ms, per step time: 500.000 ms
Scale 8

Dataset size 12662
batch_i:100 alpha:0.9983333333333333 loss G:1.0 loss D:2.0 overflow:False,time:{T.format(10, 0)}
batch_i:200 alpha:Tensor(shape=[], dtype=Float32, value= 0.996667) loss G:Tensor(shape=[1], dtype=Float32, value= [ 2.00000000e+00]) loss D:nan overflow:Tensor(shape=[], dtype=Bool, value= True),time:{T.format(11, 50)}
Intermediate: epoch 1 step 200, per_step_time 1080.500 ms, (not including the data loader time per step 19.500 ms)
"""


def _one(result, metric, **labels):
    """Return the single record of ``metric`` whose labels include ``labels``."""
    found = [r for r in result.records
             if r["metric"] == metric and all(r["labels"].get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (metric, labels, [r["labels"] for r in result.records])
    return found[0]


def test_modelzoo_losses_per_scale_with_tensor_prints():
    res = ingest.parse_log(MODELZOO, meta=META, run_id="r1", devices=8)
    assert res.format == "modelzoo" and res.malformed == {} and res.lines == 15
    assert res.ignored == 3  # the warning, the blank line and the first-iteration line
    g4 = _one(res, "loss_g", scale=4)
    assert g4["samples"] == [-12.5, -10.0, -9.0] and g4["value"] == -10.0
    assert g4["source"] == "modelzoo-log" and g4["scenario"] == "ingest" and g4["run_id"] == "r1"
    assert g4["flags"] == ["single-step-values"] and g4["unit"] == "1"
    assert g4["labels"]["steps"] == [100, 200, 300] and g4["labels"]["overflow_steps"] == [300]
    assert g4["labels"]["sampling"] == "every 100 steps, single-step values"
    assert g4["labels"]["batch_size"] == 16 and g4["labels"]["devices"] == 8
    assert g4["labels"]["dataset_size"] == 12662 and g4["meta"] == META
    assert _one(res, "loss_d", scale=4)["samples"] == [3.25, 1.5, 0.1]
    g8 = _one(res, "loss_g", scale=8)
    assert g8["samples"] == [1.0, 2.0] and g8["labels"]["overflow_steps"] == [200]
    assert g8["labels"]["alpha_first"] == pytest.approx(0.998333) and g8["labels"]["alpha_last"] == 0.996667
    d8 = _one(res, "loss_d", scale=8)
    assert d8["stats"]["n"] == 1 and d8["value"] == 2.0  # nan kept in samples, left out of the statistics


def test_modelzoo_step_times_from_timestamps_and_monitor():
    res = ingest.parse_log(MODELZOO, meta=META)
    ts4 = _one(res, "step_time", scale=4, timer="log-timestamps")
    assert ts4["samples"] == [0.5, 0.5] and ts4["unit"] == "s" and ts4["flags"] == ["from-log-timestamps"]
    assert ts4["labels"]["steps"] == [200, 300]
    assert _one(res, "step_time", scale=8, timer="log-timestamps")["samples"] == [1.1]
    assert _one(res, "step_time", scale=4, timer="monitor-compute")["samples"] == [0.48]
    assert _one(res, "data_time", scale=4, timer="monitor-compute")["samples"] == [0.02]
    assert _one(res, "step_time", scale=8, timer="monitor-compute")["value"] == pytest.approx(1.0805)
    assert _one(res, "data_time", scale=8)["samples"] == [pytest.approx(0.0195)]
    assert _one(res, "step_time", scale=4, timer="monitor-epoch")["samples"] == [0.5]
    assert len(res.records) == 2 * 2 + 2 + 2 + 2 + 1


def test_batch_counter_restart_without_scale_line_starts_an_unknown_scale():
    lines = [f"batch_i:{i} alpha:0.0 loss G:1.0 loss D:2.0 overflow:False,time:{T.format(0, s)}"
             for i, s in ((100, 0), (200, 10), (100, 20), (200, 40))]
    res = ingest.parse_log("\n".join(["Scale 16"] + lines), meta=META)
    assert _one(res, "step_time", scale=16)["samples"] == [0.1]
    assert _one(res, "step_time", scale=None)["samples"] == [0.2]


OLD_TRAIN = "\n".join([
    "Scale 128",
    f"batch_i:100 alpha:0.0 loss G:1.0 loss D:2.0 overflow:False,time:{T.format(0, 0)}",
    f"batch_i:200 alpha:0.0 loss G:1.0 loss D:2.0 overflow:False,time:{T.format(1, 50)}",
    "epoch: 3 per step time is 1.093 ms",
])


@pytest.mark.parametrize("text, units, seconds, flags", [
    (OLD_TRAIN, "auto", 1.093, ["old-units-ms-label-is-seconds", "units-from-log-timestamps"]),
    (OLD_TRAIN.replace("10:01:50.000000", "10:00:00.110000"), "auto", 0.001093, ["units-from-log-timestamps"]),
    ("per step time is 1.1 ms", "auto", 1.1, ["old-units-ms-label-is-seconds", "units-guessed"]),
    ("per step time is 250.0 ms", "auto", 0.25, ["units-guessed"]),
    ("per step time is 250.0 ms", "old", 250.0, ["old-units-ms-label-is-seconds", "units-from-user"]),
    (OLD_TRAIN, "new", 0.001093, ["units-from-user"]),
])
def test_old_monitor_units(text, units, seconds, flags):
    rec = _one(ingest.parse_log(text, units=units, meta=META), "step_time", timer="old-monitor")
    assert rec["unit"] == "s" and rec["samples"] == [pytest.approx(seconds)]
    assert rec["flags"] == ["first-sample-includes-compile", *flags]


MALFORMED_MODELZOO = [
    ("batch_i:400 alpha:0.0 loss G:[-9.0] loss D:", "modelzoo-train/shape"),  # truncated
    ("batch_i:5", "modelzoo-train/shape"),
    (f"batch_i:400 alpha:0.0 loss G:abc loss D:1.0 overflow:False,time:{T.format(0, 0)}", "modelzoo-train/number"),
    (f"batch_i:400 alpha:0.0 loss G:1.2.3 loss D:1.0 overflow:False,time:{T.format(0, 0)}",
     "modelzoo-train/number"),
    (f"batch_i:400 alpha:0.0 loss G:[1.0, 2.0] loss D:1.0 overflow:False,time:{T.format(0, 0)}",
     "modelzoo-train/number"),
    (f"batch_i:4x0 alpha:0.0 loss G:1 loss D:1.0 overflow:False,time:{T.format(0, 0)}", "modelzoo-train/number"),
    (f"batch_i:400 alpha:0.0 loss G:1 loss D:1.0 overflow:Maybe,time:{T.format(0, 0)}", "modelzoo-train/bool"),
    ("batch_i:400 alpha:0.0 loss G:1 loss D:1.0 overflow:False,time:2021-13-45 99:00:00.0", "modelzoo-train/time"),
    ("batch_i:400 alpha:0.0 loss G:1 loss D:1.0 overflow:False,time:2021-08-01 10:0", "modelzoo-train/time"),
    ("Intermediate: epoch 0 step 200, per_step_time 480.0", "modelzoo-intermediate/shape"),
    ("Intermediate: epoch 0 step 200, per_step_time 4x0 ms, (not including the data loader time per step 2 ms)",
     "modelzoo-intermediate/number"),
    ("epoch 0 time: 15000.0 ms, per step time: ms", "modelzoo-epoch/shape"),
    ("epoch 0 time: 15000.0 ms, per step time: -- ms", "modelzoo-epoch/number"),
    ("per step time is 1.0", "modelzoo-old-monitor/shape"),
    ("Scale", "modelzoo-scale/shape"),
    ("Scale four", "modelzoo-scale/number"),
    ("Dataset size -3", "modelzoo-dataset-size/number"),
]


@pytest.mark.parametrize("line, kind", MALFORMED_MODELZOO)
def test_malformed_modelzoo_lines_are_counted_not_fatal(line, kind):
    res = ingest.parse_log(MODELZOO + line + "\n", meta=META)
    assert res.malformed == {kind: [16]}
    assert len(res.records) == 11  # the good lines still count


def test_mixed_log_summary_lists_three_example_lines():
    text = "\n".join(["Start training", *(line for line, _ in MALFORMED_MODELZOO[2:6]), MODELZOO.rstrip(), "done"])
    res = ingest.parse_log(text, meta=META)
    assert res.malformed == {"modelzoo-train/number": [2, 3, 4, 5]}
    assert res.ignored == 3 + 2
    summary = res.summary("train.log")
    assert "train.log: format modelzoo, 21 lines, 11 records, 4 malformed, 5 ignored" in summary
    assert "malformed modelzoo-train/number: 4 (lines 2, 3, 4)" in summary


GAN_ZOO = """\
Average network found !
[0 :    100] loss G : -1.234 loss D : 0.567
[0 :    200] loss G : -1.000 loss D : 0.500
[1 :    100] loss G : 2.000 loss D : nan
[1 :    200] loss G : 2.0.0 loss D : 0.1
[1 :    300] loss G : 2.
[2 :
"""


def test_pytorch_gan_zoo_running_means():
    res = ingest.parse_log(GAN_ZOO, meta=META)
    assert res.format == "pytorch-gan-zoo" and res.ignored == 2
    assert res.malformed == {"pytorch-gan-zoo/number": [5], "pytorch-gan-zoo/shape": [6]}
    g0 = _one(res, "loss_g", scale_index=0)
    assert g0["samples"] == [-1.234, -1.0] and g0["labels"]["scale"] == 4 and g0["labels"]["steps"] == [100, 200]
    assert g0["flags"] == ["running-mean-100"] and g0["source"] == "pytorch-gan-zoo-log"
    assert _one(res, "loss_d", scale_index=1)["labels"]["scale"] == 8
    assert len(res.records) == 4


@pytest.mark.parametrize("n, batch_size, flags", [
    (1, None, ["no-warm-up", "one-sample"]),
    (10, 1, ["no-warm-up"]),
])
def test_modelzoo_310_latency(n, batch_size, flags):
    text = f"NN inference cost average time: 1534.29 ms of infer_count {n}\n"
    res = ingest.parse_log(text, batch_size=batch_size, meta=META)
    (rec,) = res.records
    assert res.format == "modelzoo-310" and rec["source"] == "modelzoo-310"
    assert rec["metric"] == "latency" and rec["unit"] == "ms" and rec["value"] == 1534.29 and "samples" not in rec
    assert rec["labels"] == {"batch_size": batch_size or 64, "devices": 1, "infer_count": n,
                             "runtime": "ascend310-modelzoo"}
    assert rec["flags"] == flags


@pytest.mark.parametrize("line, kind", [
    ("NN inference cost average time: 12.5 ms of infer_count", "modelzoo-310/shape"),
    ("NN inference cost average time: abc ms of infer_count 1", "modelzoo-310/number"),
    ("NN inference cost average time: 12.5 ms of infer_count 1.5", "modelzoo-310/number"),
])
def test_malformed_310_lines(line, kind):
    res = ingest.parse_log(line, fmt="modelzoo-310", meta=META)
    assert res.records == [] and res.malformed == {kind: [1]}


def test_detect_format():
    assert ingest.detect_format(MODELZOO.splitlines()) == "modelzoo"
    assert ingest.detect_format(GAN_ZOO.splitlines()) == "pytorch-gan-zoo"
    assert ingest.detect_format(["NN inference cost average time: 1 ms of infer_count 1"]) == "modelzoo-310"
    assert ingest.detect_format(["hello", ""]) is None


def test_unrecognised_and_forced_formats():
    res = ingest.parse_log("hello\nworld", meta=META)
    assert (res.format, res.records, res.ignored, res.lines) == (None, [], 2, 2)
    assert "format unrecognised" in res.summary()
    forced = ingest.parse_log(MODELZOO, fmt="pytorch-gan-zoo", meta=META)
    assert forced.records == [] and forced.ignored == forced.lines
    with pytest.raises(ValueError):
        ingest.parse_log(MODELZOO, fmt="tensorflow", meta=META)
    with pytest.raises(ValueError):
        ingest.parse_log(MODELZOO, units="seconds", meta=META)


def test_scalar_and_bool_prints():
    for text in ("1.5", "[1.5]", "[[1.5]]", "Tensor(shape=[], dtype=Float32, value= 1.5)",
                 "Tensor(shape=[1, 1], dtype=Float16, value=\n[[ 1.5000e+00]])", " 15e-1 "):
        assert ingest.parse_scalar(text) == 1.5, text
    assert ingest.parse_bool("Tensor(shape=[], dtype=Bool, value= True)") is True
    assert ingest.parse_bool("[False]") is False
    for bad in ("", "1,5", "Tensor(shape=[], dtype=Float32, value= )", "0x10"):
        with pytest.raises(ingest.Malformed):
            ingest.parse_scalar(bad)


def test_long_single_line_text_is_not_taken_for_a_path():
    line = "NN inference cost average time: 1.5 ms of infer_count 1" + " " * 5000
    assert ingest.parse_log(line, meta=META).records[0]["value"] == 1.5
    assert ingest.parse_log("a\x00b", meta=META).ignored == 1


def test_parse_log_reads_paths(tmp_path):
    path = tmp_path / "train.log"
    path.write_text(MODELZOO)
    for arg in (path, str(path)):
        res = ingest.parse_log(arg, meta=META)
        assert len(res.records) == 11 and res.records[0]["params"]["log"] == str(path)


def test_ingest_log_command(tmp_path, capsys):
    log, infer, other = tmp_path / "train.log", tmp_path / "test_perform_static.txt", tmp_path / "other.txt"
    log.write_text(MODELZOO + MALFORMED_MODELZOO[0][0] + "\n")
    infer.write_text("NN inference cost average time: 1534.29 ms of infer_count 1\n")
    other.write_text("nothing to see\n")
    out = tmp_path / "res"
    assert main(["ingest-log", str(log), str(infer), "--out", str(out), "--device", "Ascend910",
                 "--devices", "8"]) == 0
    printed = capsys.readouterr().out
    assert "malformed modelzoo-train/shape: 1 (lines 16)" in printed and "12 records appended" in printed
    recs = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(recs) == 12 and len({r["run_id"] for r in recs}) == 1
    assert {r["meta"]["device"] for r in recs} == {"Ascend910"} and recs[0]["meta"]["device_count"] == 8
    assert recs[-1]["labels"]["batch_size"] == 64 and recs[0]["labels"]["batch_size"] == 16
    assert main(["ingest-log", str(other), "--out", str(out)]) == 2
    assert "error: no record recognised in" in capsys.readouterr().err
    assert main(["ingest-log", str(log), str(tmp_path / "missing.log"), "--out", str(out)]) == 2
    assert main(["ingest-log", str(log), "--old-units", "--batch-size", "32", "--out", str(out)]) == 0
    assert json.loads((out / "records.jsonl").read_text().splitlines()[-1])["params"]["units"] == "old"


def _long_log(path, segments: int, per_segment: int = 100):
    """Write a ModelZoo log of ``segments`` scales of ``per_segment`` batch_i + monitor lines each; return it."""
    with open(path, "w") as f:
        for s in range(segments):
            f.write(f"Scale {4 * 2 ** (s % 6)}\n")
            for i in range(1, per_segment + 1):
                f.write(f"batch_i:{100 * i} alpha:0.5 loss G:[{i % 7}.5] loss D:{i % 5} overflow:False,"
                        f"time:2021-08-{1 + s % 28:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.5\n"
                        f"Intermediate: epoch {s} step {i}, per_step_time 4{i % 9}0.0 ms, (not including the data "
                        f"loader time per step 20.0 ms)\n")
    return path


def test_records_are_yielded_while_the_log_is_read(tmp_path):
    """Streaming: a segment's records come out when it ends, long before the log's last line is read."""
    log = _long_log(tmp_path / "train.log", segments=20)
    result = ingest.IngestResult()
    records = ingest.stream_log(log, meta=META, result=result)
    first = next(records)
    assert first["labels"]["segment"] == 1 and first["samples"][:3] == [1.5, 2.5, 3.5]
    assert result.lines == 202  # segment 1 ends at the next Scale line, of 4021
    assert sum(1 for _ in records) == 20 * 5 - 1 and result.lines == 4020 and result.count == 100


def test_memory_does_not_grow_with_the_log_length(tmp_path):
    """Streaming: four times the segments, the same peak of Python allocations (reading it whole: ~4x)."""
    peaks = []
    for segments in (10, 40):
        log = _long_log(tmp_path / f"train{segments}.log", segments)
        tracemalloc.start()
        assert sum(1 for _ in ingest.stream_log(log, meta=META)) == segments * 5
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_windows_line_ends_read_alike_and_the_hash_is_of_the_file(tmp_path):
    """CRLF and LF logs give the same records; ``log_sha256`` is the file's own sha256 (as sha256sum prints)."""
    lf, crlf = tmp_path / "lf.log", tmp_path / "crlf.log"
    lf.write_bytes(MODELZOO.encode())
    crlf.write_bytes(MODELZOO.replace("\n", "\r\n").encode())
    a, b = (ingest.parse_log(p, meta=META, run_id="r") for p in (lf, crlf))
    def without_provenance(result):  # JSON: a NaN sample compares equal to itself
        return [json.dumps({k: v for k, v in r.items() if k not in ("params", "time_start", "time_end")})
                for r in result.records]

    assert without_provenance(a) == without_provenance(b)
    assert (a.lines, a.ignored) == (b.lines, b.ignored) == (15, 3)
    assert b.records[0]["params"]["log_sha256"] == hashlib.sha256(crlf.read_bytes()).hexdigest()
