"""PGAN_CPU_THREADS: the CPU kernel thread policy, that setup applies it, and that a bad value is bad input."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pgan_ref.config import ConfigError
from pgan_ref.cpu_threads import cpu_threads

from .conftest import REPO
from .test_cli_contract import one_line_error


@pytest.mark.parametrize("value, expected", [(None, None), ("default", None), ("DEFAULT", None), ("1", 1), ("3", 3)])
def test_policy(value, expected):
    """Unset or ``default`` leaves MindSpore's own count; N is N."""
    assert cpu_threads({} if value is None else {"PGAN_CPU_THREADS": value}) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "auto"])
def test_bad_value_names_the_variable_and_what_is_accepted(value):
    with pytest.raises(ConfigError, match=r"PGAN_CPU_THREADS=.*expected default or a positive integer"):
        cpu_threads({"PGAN_CPU_THREADS": value})


# Reports whether setup left MindSpore's CPU kernel thread count configured, and the meta it records.
PROBE = ("import json\n"
         "from mindspore._c_expression import RuntimeConf\n"
         "from pgan_ref.device import setup\n"
         "from harness.records.machine import collect_meta\n"
         "setup('CPU')\n"
         "meta = collect_meta()\n"
         "print(json.dumps([RuntimeConf.get_instance().is_op_threads_num_configured(), meta['cpu_threads'],"
         " meta['env']['PGAN_CPU_THREADS']]))\n")


@pytest.mark.parametrize("value, configured, recorded", [("2", True, 2), ("default", False, None)])
def test_setup_applies_the_setting_and_meta_records_it(value, configured, recorded):
    env = {**os.environ, "PYTHONPATH": str(REPO), "PGAN_CPU_THREADS": value}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == f"[{str(configured).lower()}, {recorded or 'null'}, \"{value}\"]"


def test_bad_value_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "step-time", "--preset", "cpu-smoke",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "PGAN_CPU_THREADS": "many"})
    assert proc.returncode == 2
    assert "PGAN_CPU_THREADS='many'" in one_line_error(proc.stderr)
    assert not (tmp_path / "records.jsonl").exists()
