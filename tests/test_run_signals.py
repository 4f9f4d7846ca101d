"""SIGTERM / SIGKILL to ``pgan-harness run --devices 2`` leave no msrun, scheduler, worker or ``tail -f`` behind."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ["scales=[4,8]", "depth=[8,8]", "latent=16", "num_batch=[8,8]", "alpha_jumps=[0,2]",
        "alpha_size_jumps=[1,1]", "batch_size=4", "iters=2000", "warmup=1", "synthetic_n=32"]


def _marked(marker: str) -> list[psutil.Process]:
    """Return live, non-zombie processes whose command line mentions ``marker``."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"], ad_value=None):
        if marker in " ".join(p.info["cmdline"] or ()) and p.info["status"] != psutil.STATUS_ZOMBIE \
                and p.pid != os.getpid():
            found.append(p)
    return found


def _workers(marker: str) -> list[psutil.Process]:
    return [p for p in _marked(marker) if "harness.runs.worker" in " ".join(p.cmdline())]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_signal_to_two_device_run_leaves_no_process(tmp_path, sig):
    out = tmp_path / "out"
    sets = [a for kv in TINY for a in ("--set", kv)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cli = subprocess.Popen([sys.executable, "-m", "harness", "run", "step-time", "--devices", "2", "--out", str(out),
                            "--seed", "1", *sets], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_workers(str(out))) < 2 and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert cli.poll() is None and len(_workers(str(out))) >= 2, "the cluster did not start"
        time.sleep(2)  # let msrun's tail -f helpers start as well
        cli.send_signal(sig)
        _, err = cli.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while _marked(str(out)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [" ".join(p.cmdline()) for p in _marked(str(out))] == []
        if sig == signal.SIGTERM:
            assert cli.returncode == 130 and "interrupted" in err
        else:
            assert cli.returncode == -signal.SIGKILL
    finally:
        if cli.poll() is None:
            cli.kill()
        for p in _marked(str(out)):  # never leave a process behind, even when the test fails
            p.kill()
