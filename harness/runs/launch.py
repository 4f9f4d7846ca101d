"""Data-parallel launches through ``msrun``: judged by the ranks' result files, with no orphan processes left.

Launcher side, one host (2 workers)::

    res = launch_msrun(["path/to/worker.py", "--flag"], workers=2, log_dir=d / "logs",
                       results_dir=d / "results", timeout_s=600)
    res.raise_for_status()

Several hosts: call ``launch_msrun`` once per host with the same ``workers``, ``master_addr`` (an
address of host 0, which runs the scheduler) and ``master_port`` (required on hosts other than 0),
its own ``node_rank`` and the same ``local_workers`` (msrun numbers ranks per host from
``node_rank * local_workers``)::

    host 0: launch_msrun(cmd, workers=16, local_workers=8, node_rank=0, master_addr="10.0.0.1",
                         master_port=8118, log_dir=..., results_dir=..., timeout_s=...)
    host 1: launch_msrun(cmd, workers=16, local_workers=8, node_rank=1, master_addr="10.0.0.1",
                         master_port=8118, log_dir=..., results_dir=..., timeout_s=...)

Each host judges only its own ranks. msrun starts a scheduler on every host where ``master_addr`` is a
local address; on loopback the second one fails to bind (its msrun exits 1) while the ranks succeed,
which is one reason success is read from the result files rather than from msrun's exit code.

Worker side: ``rank, size = pgan_ref.device.setup(device)`` first, ``worker_done(results_dir, **info)`` last.
Logs: ``{log_dir}/worker_{rank}.log`` and ``scheduler.log`` (msrun's), ``msrun.log`` (msrun's own output).
Every process of a launch carries ``PGAN_LAUNCH_ID`` in its environment, by which leftovers are found:
the launcher stops them when it ends (also on SIGINT or SIGTERM), and a supervising ``harness.runs.reaper``
process stops them when the launcher is killed outright (SIGKILL).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pgan_ref.fileio import write_text_atomic
from pgan_ref.interrupt import terminate_as_interrupt

LAUNCH_ID_ENV = "PGAN_LAUNCH_ID"
DONE_PATTERN = "rank_{rank}.done.json"
_EXIT_GRACE_S = 15.0  # after every rank finished, msrun and its scheduler get this long to exit by themselves
_SETTLE_S = 2.0  # after a failure, before stopping: msrun logs a dead worker's exit code within its 1 s poll
_EXIT_CODE_RE = re.compile(r"Worker process (\d+) exit with exception\. Error code: (-?\d+)")


class LaunchError(RuntimeError):
    """A launch that could not start, or whose ranks did not all finish with status ``ok``."""


# --------------------------------------------------------------------------------------------- worker


def worker_done(results_dir: str | Path, status: str = "ok", **info) -> Path:
    """Write this rank's ``rank_{RANK_ID}.done.json`` atomically (tmp file + rename); return its path."""
    rank = int(os.environ.get("RANK_ID", 0))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / DONE_PATTERN.format(rank=rank)
    row = {"rank": rank, "status": status, "pid": os.getpid(), "time": time.time(), **info}
    return write_text_atomic(path, json.dumps(row, default=str))


# ------------------------------------------------------------------------------------------- launcher


@dataclass
class RankResult:
    """The outcome of one rank: ``ok``, its status and why, its result file's content and its log tail."""

    rank: int
    ok: bool
    status: str  # the worker's own status, or "died" | "hung" | "timeout" | "stopped" | "missing"
    reason: str
    info: dict = field(default_factory=dict)
    log_tail: str = ""


@dataclass
class LaunchResult:
    """The outcome of one ``launch_msrun`` call on this host."""

    ok: bool
    message: str
    ranks: dict[int, RankResult]
    elapsed_s: float
    master_port: int
    msrun_returncode: int | None
    log_dir: Path
    results_dir: Path
    scheduler_log_tail: str = ""

    @property
    def failed_ranks(self) -> list[int]:
        """Return the ranks (of this host) that did not finish with status ``ok``."""
        return [r for r, rr in sorted(self.ranks.items()) if not rr.ok]

    def raise_for_status(self) -> "LaunchResult":
        """Return self if every rank succeeded, else raise ``LaunchError`` with the message and log tails."""
        if self.ok:
            return self
        tails = [f"--- {self.log_dir}/worker_{r}.log (last lines) ---\n{self.ranks[r].log_tail}"
                 for r in self.failed_ranks if self.ranks[r].log_tail]
        if self.scheduler_log_tail:
            tails.append(f"--- {self.log_dir}/scheduler.log (last lines) ---\n{self.scheduler_log_tail}")
        raise LaunchError("\n".join([self.message, *tails]))


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` (bound to port 0, released, checked again)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port_is_free(host, port):
            return port
    raise LaunchError(f"no free TCP port found on {host}")


def port_is_free(host: str, port: int) -> bool:
    """Return whether a TCP server could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def local_ranks(workers: int, local_workers: int, node_rank: int) -> list[int]:
    """Return the global ranks msrun runs on host ``node_rank`` (ranks are contiguous per host)."""
    if local_workers == workers:
        return list(range(workers))
    return [node_rank * local_workers + i for i in range(local_workers)]


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines)).rstrip()
    except OSError:
        return ""


def _read_done(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _launch_procs(launch_id: str, log_dir: Path, exclude: tuple[int, ...] = ()) -> list[psutil.Process]:
    """Return the live processes of one launch: its marker in their environment or its log dir in their cmdline."""
    found = []
    for p in psutil.process_iter(["cmdline", "environ"], ad_value=None):
        env, cmd = p.info["environ"] or {}, " ".join(p.info["cmdline"] or ())
        if p.pid != os.getpid() and p.pid not in exclude and \
                (env.get(LAUNCH_ID_ENV) == launch_id or str(log_dir) in cmd):
            found.append(p)
    return found


def stop_launch(launch_id: str, log_dir: str | Path, exclude: tuple[int, ...] = (), own_group: int | None = None,
                rounds: int = 3) -> None:
    """Stop every process (and process group) of a launch, scanning again for processes forked meanwhile.

    ``exclude`` lists pids to spare (the launcher, its reaper); ``own_group`` is the launcher's process group,
    which is never signalled as a whole.
    """
    for _ in range(rounds):
        procs = [p for p in _launch_procs(launch_id, Path(log_dir), exclude) if _alive(p)]
        if not procs:
            return
        _kill_groups(procs, own_group=own_group)


def _start_reaper(launch_id: str, log_dir: Path) -> subprocess.Popen:
    """Start ``harness.runs.reaper`` for this launch in its own session; closing its stdin (or dying) triggers it."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k != LAUNCH_ID_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "harness.runs.reaper", launch_id, str(log_dir), str(os.getpid()),
                             str(os.getpgrp())],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, start_new_session=True)


def _kill_groups(procs: list[psutil.Process], grace_s: float = 5.0, own_group: int | None = None) -> None:
    """Stop processes and their process groups: SIGTERM, then SIGKILL to what is left after ``grace_s``.

    Processes in ``own_group`` (default: this process's group) are signalled one by one, never the group.
    """
    own_group = os.getpgrp() if own_group is None else own_group
    alive = [p for p in procs if _alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in alive:
            try:
                pgid = os.getpgid(p.pid)
                if pgid != own_group:
                    os.killpg(pgid, sig)
                else:
                    p.send_signal(sig)
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        deadline = time.monotonic() + grace_s
        while (alive := [p for p in alive if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not alive:
            return


class _Watch:
    """The processes of one running msrun: the tree seen from msrun, with each worker's rank."""

    def __init__(self, msrun: subprocess.Popen):
        self.msrun = msrun
        self.procs: dict[int, psutil.Process] = {msrun.pid: psutil.Process(msrun.pid)}
        try:
            self.msrun_cmdline = self.procs[msrun.pid].cmdline()
        except psutil.Error:  # msrun already gone: nothing to classify
            self.msrun_cmdline = []
        self.classified: set[int] = {msrun.pid}
        self.worker_of_rank: dict[int, psutil.Process] = {}

    def scan(self) -> None:
        """Record msrun's descendants (workers are in their own sessions, so they are captured while msrun lives)."""
        try:
            children = self.procs[self.msrun.pid].children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for p in children:
            self.procs.setdefault(p.pid, p)
            if p.pid in self.classified:
                continue
            try:
                cmdline, env = p.cmdline(), p.environ()
            except (psutil.Error, OSError):
                continue
            if cmdline == self.msrun_cmdline:  # forked, not yet exec'd: classify on a later scan
                continue
            self.classified.add(p.pid)
            # msrun runs workers as bare `python`; its `tail -f` helpers carry the same MS_ROLE and RANK_ID
            if cmdline[:1] == ["python"] and env.get("MS_ROLE") == "MS_WORKER" and env.get("RANK_ID", "").isdigit():
                self.worker_of_rank[int(env["RANK_ID"])] = p

    def dead_ranks(self) -> list[int]:
        """Return the ranks whose worker process was seen and has exited."""
        return [r for r, p in self.worker_of_rank.items() if not _alive(p)]


def _exit_codes(msrun_log: Path) -> dict[int, int]:
    """Return ``{pid: exit code}`` of the workers msrun reported as failed."""
    text = msrun_log.read_text(encoding="utf-8", errors="replace") if msrun_log.exists() else ""
    return {int(pid): int(code) for pid, code in _EXIT_CODE_RE.findall(text)}


def launch_msrun(worker_cmd: list[str], *, workers: int, local_workers: int | None = None, node_rank: int = 0,
                 master_addr: str = "127.0.0.1", master_port: int | None = None, log_dir: Path,
                 results_dir: Path, timeout_s: float, cluster_timeout_s: int = 60, straggler_s: float = 60.0,
                 env: dict | None = None, poll_s: float = 0.5, log_lines: int = 30) -> LaunchResult:
    """Run ``python <worker_cmd>`` on ``local_workers`` ranks of this host through msrun; return the outcome.

    ``worker_cmd`` is what follows ``python``: a script path or ``-m module``, then its arguments.
    The run fails early when a rank exits without an ``ok`` result, when some ranks are not done
    ``straggler_s`` after another finished, or after ``timeout_s``; every process is then stopped.
    """
    local_workers = workers if local_workers is None else local_workers
    if not 0 < local_workers <= workers or node_rank < 0 or \
            (local_workers < workers and (node_rank + 1) * local_workers > workers):
        raise ValueError(f"inconsistent workers={workers}, local_workers={local_workers}, node_rank={node_rank}")
    if master_port is None:
        if node_rank != 0:
            raise ValueError("master_port is required on hosts other than node_rank 0")
        master_port = free_port(master_addr)
    elif node_rank == 0 and not port_is_free(master_addr, master_port):
        raise LaunchError(f"master port {master_port} on {master_addr} is already in use: choose another "
                          "(or pass master_port=None to pick a free one)")
    log_dir, results_dir = Path(log_dir).resolve(), Path(results_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    ranks = local_ranks(workers, local_workers, node_rank)
    for r in ranks:  # a stale result must not pass for this run's
        (results_dir / DONE_PATTERN.format(rank=r)).unlink(missing_ok=True)

    launch_id = uuid.uuid4().hex
    bin_dir = os.path.dirname(sys.executable)  # msrun starts workers with the bare command `python`
    run_env = {**os.environ, **(env or {})}  # harness imports pgan_ref._env: ONEDNN_MAX_CPU_ISA is set
    run_env.setdefault("PYTHONUNBUFFERED", "1")  # a killed rank's log keeps its last lines
    run_env.update({"PATH": os.pathsep.join([bin_dir, run_env.get("PATH", "")]), LAUNCH_ID_ENV: launch_id})
    cmd = [os.path.join(bin_dir, "msrun"), f"--worker_num={workers}", f"--local_worker_num={local_workers}",
           f"--master_addr={master_addr}", f"--master_port={master_port}", f"--node_rank={node_rank}",
           f"--log_dir={log_dir}", "--join=True", f"--cluster_time_out={cluster_timeout_s}", "python",
           *worker_cmd]
    msrun_log = log_dir / "msrun.log"

    t0 = time.monotonic()
    outcome: dict[int, RankResult] = {}
    reaper = _start_reaper(launch_id, log_dir)
    with open(msrun_log, "w", encoding="utf-8") as out, terminate_as_interrupt():
        try:
            msrun = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=run_env, start_new_session=True)
        except BaseException:
            reaper.stdin.close()
            raise
        watch = _Watch(msrun)
        try:
            cause = _watch(watch, ranks, results_dir, outcome, t0, timeout_s, straggler_s, poll_s)
            if all(rr.ok for rr in outcome.values()):  # let msrun and the scheduler end by themselves
                try:
                    msrun.wait(timeout=_EXIT_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(_SETTLE_S)
        finally:
            watch.scan()
            _kill_groups(list(watch.procs.values()))
            stop_launch(launch_id, log_dir, exclude=(reaper.pid,))
            msrun.wait()
            reaper.stdin.close()  # the reaper finds nothing left and exits
            reaper.wait()

    pid_codes = _exit_codes(msrun_log)
    codes = {r: pid_codes[p.pid] for r, p in watch.worker_of_rank.items() if p.pid in pid_codes}
    for r in ranks:
        rr = outcome.setdefault(r, RankResult(r, False, "missing", "no result file"))
        if rr.status == "died" and r in codes:
            rr.reason += f" (exit code {codes[r]}, reported by msrun)"
        if not rr.ok:
            rr.log_tail = _tail(log_dir / f"worker_{r}.log", log_lines)
    failed = [r for r, rr in outcome.items() if not rr.ok]
    if not failed:
        message = f"all {len(ranks)} rank(s) of this host finished ok"
    else:  # the ranks msrun saw fail first come first: it kills the others within a second
        failed.sort(key=lambda r: (r not in codes, outcome[r].status == "stopped", r))
        message = "; ".join([*filter(None, [cause]), *(f"rank {r} {outcome[r].status}: {outcome[r].reason}"
                                                      for r in failed)]) + f" (logs: {log_dir})"
    return LaunchResult(ok=not failed, message=message, ranks=dict(sorted(outcome.items())),
                        elapsed_s=time.monotonic() - t0, master_port=master_port,
                        msrun_returncode=msrun.returncode, log_dir=log_dir, results_dir=results_dir,
                        scheduler_log_tail=_tail(log_dir / "scheduler.log", log_lines) if failed else "")


def _watch(watch: _Watch, ranks: list[int], results_dir: Path, outcome: dict[int, RankResult], t0: float,
           timeout_s: float, straggler_s: float, poll_s: float) -> str:
    """Poll until every rank is done or one failed; fill ``outcome``; return the cause when it is not a rank's own."""
    first_done = None
    while True:
        returncode = watch.msrun.poll()  # before reading results: a rank's file precedes its exit
        watch.scan()
        dead = set(watch.dead_ranks())
        for r in ranks:
            if r in outcome:
                continue
            done = _read_done(results_dir / DONE_PATTERN.format(rank=r))
            if done is not None:
                status = str(done.get("status"))
                reason = "result file written" if status == "ok" else f"result file says {done.get('error', status)}"
                outcome[r] = RankResult(r, status == "ok", status, reason, done)
                first_done = first_done or time.monotonic()
            elif r in dead:
                outcome[r] = RankResult(r, False, "died", "worker process exited without writing its result")
        failed = sorted(r for r, rr in outcome.items() if not rr.ok)
        pending = [r for r in ranks if r not in outcome]
        listed = ", ".join(map(str, pending))
        now = time.monotonic()
        if failed:
            cause, status, reason = "", "stopped", f"stopped after rank(s) {', '.join(map(str, failed))} failed"
        elif not pending:
            return ""
        elif returncode is not None:
            cause = f"msrun exited with code {returncode} before rank(s) {listed} finished"
            status, reason = "missing", "msrun exited before this rank finished"
        elif first_done is not None and now - first_done > straggler_s:
            cause = f"rank(s) {listed} not done {straggler_s:g} s after another rank finished"
            status, reason = "hung", f"not done {straggler_s:g} s after another rank finished"
        elif now - t0 > timeout_s:
            cause = f"timeout after {timeout_s:g} s with rank(s) {listed} not done"
            status, reason = "timeout", f"not done within timeout_s={timeout_s:g}"
        else:
            time.sleep(poll_s)
            continue
        for r in pending:
            outcome[r] = RankResult(r, False, status, reason)
        return cause
