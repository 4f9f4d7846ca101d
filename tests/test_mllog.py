"""Tests of the MLPerf-style event logger, its checker and the ``check-log`` command."""
import json

import pytest

from harness.cli import main
from harness.logs import mllog


def _good_log(tmp_path, status=mllog.STATUS_SUCCESS):
    log = mllog.MLLogger(mllog.events_path(tmp_path, "r1"))
    log.start(mllog.RUN_START)
    log.event(mllog.SEED, 7)
    log.start(mllog.SCALE_START, metadata={mllog.SCALE: 4})
    log.end(mllog.SCALE_STOP, metadata={mllog.SCALE: 4})
    log.end(mllog.RUN_STOP, metadata={mllog.STATUS: status})
    return log.path


def _lines(*events, extra=()):
    """Return :::MLLOG lines for (key, time_ms, metadata) tuples."""
    out = [mllog.PREFIX + json.dumps({"namespace": "", "time_ms": t, "event_type": mllog.POINT_IN_TIME,
                                      "key": k, "value": None, "metadata": md}) for k, t, md in events]
    return out + list(extra)


GOOD = [("run_start", 1, {}), ("seed", 2, {}), ("run_stop", 3, {"status": "success"})]


def test_logger_writes_parseable_lines(tmp_path):
    path = _good_log(tmp_path)
    assert path.name == "events-r1.log"
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and all(line.startswith(":::MLLOG {") for line in lines)
    first = json.loads(lines[0][len(mllog.PREFIX):])
    assert first["event_type"] == "INTERVAL_START" and first["key"] == "run_start"
    assert first["metadata"]["file"] == "test_mllog.py" and isinstance(first["metadata"]["lineno"], int)
    assert isinstance(first["time_ms"], int) and first["namespace"] == ""
    assert json.loads(lines[2][len(mllog.PREFIX):])["metadata"]["scale"] == 4
    assert mllog.check_log(path) == []


def test_aborted_run_is_valid(tmp_path):
    assert mllog.is_valid(mllog.check_log(_good_log(tmp_path, mllog.STATUS_ABORTED)))


def test_other_output_lines_are_skipped():
    assert mllog.check_lines(_lines(*GOOD, extra=["epoch 1 done", ""])) == []


@pytest.mark.parametrize("events, message", [
    ([("seed", 1, {}), ("run_start", 2, {}), ("run_stop", 3, {"status": "success"})], "not the first"),
    ([("run_start", 1, {}), ("run_start", 1, {}), ("seed", 2, {}), ("run_stop", 3, {"status": "success"})],
     "2 run_start"),
    ([("run_start", 1, {}), ("seed", 2, {})], "0 run_stop"),
    ([("run_start", 1, {}), ("seed", 2, {}), ("run_stop", 3, {"status": "success"}), ("seed", 4, {})],
     "not the last"),
    ([("run_start", 1, {}), ("seed", 2, {}), ("run_stop", 3, {"status": "done"})], "status"),
    ([("run_start", 1, {}), ("seed", 2, {}), ("run_stop", 3, {})], "status"),
    ([("run_start", 1, {}), ("run_stop", 3, {"status": "success"})], "no seed"),
    ([("run_start", 1, {}), ("seed", 5, {}), ("run_stop", 3, {"status": "success"})], "backwards"),
    (GOOD[:2] + [("scale_start", 2, {"scale": 4}), ("scale_stop", 2, {"scale": 8}), GOOD[2]], "without a"),
    (GOOD[:2] + [("scale_start", 2, {"scale": 4}), GOOD[2]], "never stopped"),
    (GOOD[:2] + [("scale_start", 2, {}), GOOD[2]], "without metadata scale"),
])
def test_rule_violations_are_errors(events, message):
    problems = mllog.check_lines(_lines(*events))
    assert not mllog.is_valid(problems)
    assert any(message in p.message for p in problems), problems


def test_unknown_key_is_only_a_warning():
    problems = mllog.check_lines(_lines(GOOD[0], ("my_key", 1, {}), *GOOD[1:]))
    assert [(p.lineno, p.severity) for p in problems] == [(2, mllog.WARNING)]
    assert mllog.is_valid(problems)


@pytest.mark.parametrize("bad, message", [
    (":::MLLOG {not json", "invalid JSON"),
    (":::MLLOG [1, 2]", "not a JSON object"),
    (':::MLLOG {"time_ms": 1.5, "event_type": "POINT_IN_TIME", "key": "seed", "metadata": {}}', "time_ms"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT", "key": "seed", "metadata": {}}', "event_type"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT_IN_TIME", "key": "seed"}', "metadata"),
])
def test_malformed_lines_are_errors(bad, message):
    problems = mllog.check_lines(_lines(*GOOD, extra=[bad]))
    assert [p.lineno for p in problems if message in p.message] == [4]


def test_empty_log_is_invalid():
    assert not mllog.is_valid(mllog.check_lines(["hello"]))


def test_check_log_command_exit_codes(tmp_path, capsys):
    good = _good_log(tmp_path)
    bad = tmp_path / "bad.log"
    bad.write_text("\n".join(_lines(GOOD[0], GOOD[2])) + "\n")
    assert main(["check-log", str(good)]) == 0
    assert main(["check-log", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "no seed" in out and f"{bad}: INVALID" in out
    assert main(["check-log", str(bad), str(tmp_path / "missing.log")]) == 2
    binary = tmp_path / "binary.log"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["check-log", str(binary)]) == 2
