"""setup('CPU') makes MindSpore dispatch on the calling thread, so nothing spins while a compiled step runs."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

# Calls a compiled function and a PyNative op, waits for both, and prints this process's thread names.
# MindSpore's asynchronous pipeline runs in threads named after its queues (frontend_queue, ...); waiting for
# them is a busy loop on the Python thread. With host-blocking dispatch those threads never start.
PROBE = ("import os, sys\n"
         "import numpy as np\n"
         "import mindspore as ms\n"
         "from mindspore import Tensor, ops\n"
         "from pgan_ref.device import setup\n"
         "if sys.argv[1] == 'setup':\n"
         "    setup('CPU')\n"
         "@ms.jit\n"
         "def f(x):\n"
         "    return ops.sqrt(x * x + 1.0)\n"
         "f(Tensor(np.ones(4, np.float32))).asnumpy()\n"
         "(Tensor(np.ones(4, np.float32)) * 2).asnumpy()\n"
         "print(sorted({open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')}))\n")


def _thread_names(tmp_path, mode: str, **env_changes) -> str:
    script = tmp_path / "probe.py"  # ms.jit compiles from source, so the probe is a file
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "MS_DEV_HOST_BLOCKING_RUN"}
    env.update(PYTHONPATH=str(REPO), **env_changes)
    out = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names are read from /proc")
@pytest.mark.parametrize("mode, env, pipeline", [("setup", {}, False), ("none", {}, True),
                                                 ("setup", {"MS_DEV_HOST_BLOCKING_RUN": "0"}, True)])
def test_setup_runs_dispatch_inline_unless_the_user_chose(tmp_path, mode, env, pipeline):
    """After setup('CPU') no pipeline queue thread exists; without setup, or with the user's 0, it does."""
    assert ("frontend_queue" in _thread_names(tmp_path, mode, **env)) is pipeline
