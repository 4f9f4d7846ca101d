"""Supervisor of one msrun launch: when its launcher ends, even by SIGKILL, stop every process of the launch.

Started by ``launch_msrun`` in its own session with a pipe on stdin; the launcher never writes to it, so
reading reaches end-of-file exactly when the launcher closes it or dies. Then every process carrying the
launch's ``PGAN_LAUNCH_ID`` (msrun, scheduler, workers, ``tail -f`` helpers) is stopped with its group.
"""
from __future__ import annotations

import signal
import sys

from harness.runs.launch import stop_launch


def main(argv: list[str]) -> int:
    """``python -m harness.runs.reaper LAUNCH_ID LOG_DIR LAUNCHER_PID LAUNCHER_PGID``: on end-of-file stop the launch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the launcher's end ends this process
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    launch_id, log_dir, launcher_pid, launcher_group = argv
    sys.stdin.buffer.read()
    stop_launch(launch_id, log_dir, exclude=(int(launcher_pid),), own_group=int(launcher_group))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
