"""Drive an A/B run: one worker process per revision, paired bursts of steps, sequential verdicts, records."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.ab import stats as ab_stats
from harness.ab.revisions import CannotCompare, Revision
from harness.ab.worker import PROTOCOL
from harness.judge.verdicts import SEVERITY, Verdict
from harness.records.machine import collect_meta
from harness.records.store import RecordStore, make_record, new_run_id, summarize

DESIGNS = ("duet", "alternate")
CLOCKS = ("wall", "cpu")  # recorded; the verdict judges one of them or "both" (the worse verdict of the two)


@dataclass(frozen=True)
class Entry:
    """One gated measurement: a scale and phase of the step-time scenario, optionally with injected compute."""

    scale: int
    phase: str
    inject: float = 0.0  # fraction of the step added to the head's timed region (gate calibration)

    @property
    def name(self) -> str:
        """Return the entry's id, e.g. ``16:stable`` or ``16:stable+10%``."""
        return f"{self.scale}:{self.phase}" + (f"+{self.inject:.0%}" if self.inject else "")


def parse_entry(text: str) -> Entry:
    """Return ``SCALE:PHASE`` (phase fade or stable) as an Entry; ValueError names what is accepted."""
    scale, _, phase = text.partition(":")
    if not scale.isdigit() or phase not in ("fade", "stable"):
        raise ValueError(f"entry {text!r}: expected SCALE:PHASE with PHASE fade or stable, e.g. 16:stable")
    return Entry(int(scale), phase)


def preset_entries(preset: str) -> list[Entry]:
    """Return every entry of a preset: each scale's stable phase, and its fade phase after the first scale
    (as ``ScaleStep.phases`` times them)."""
    from pgan_ref.config import load_config

    scales = load_config(preset=preset).scales
    return [Entry(s, p) for i, s in enumerate(scales) for p in (("fade", "stable") if i else ("stable",))]


class WorkerError(Exception):
    """A worker failed or broke the protocol; the message names the worker and its log."""


def pin(pid: int, cores: set[int]) -> None:
    """Set the CPU affinity of every thread of process ``pid`` (threads do not follow the process's own mask)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cores)
        except (ProcessLookupError, FileNotFoundError):
            pass  # a thread that ended meanwhile


# Starts a revision's worker (the module in argv[2]: its layout's ``Revision.worker``) after fixing MindSpore's CPU
# thread count (argv[1]; 0 keeps its default). Done here,
# not in the worker, so that both sides get it whatever their revision's worker knows. ``import harness`` first:
# it sets the environment MindSpore must see at import (the oneDNN ISA cap).
WORKER_BOOT = ("import runpy, sys, harness, mindspore\n"
               "if int(sys.argv[1]):\n"
               "    mindspore.device_context.cpu.op_tuning.threads_num(int(sys.argv[1]))\n"
               "runpy.run_module(sys.argv[2], run_name='__main__', alter_sys=True)\n")


class WorkerProcess:
    """One revision's ``harness.ab.worker``: the revision's interpreter, its code first on PYTHONPATH.

    ``threads`` is MindSpore's CPU thread count (0: the revision's own choice, ``PGAN_CPU_THREADS`` where its
    ``device.setup`` knows it, else MindSpore's default). A duet worker pinned to one core
    runs one thread: two pool threads on one core spin against each other, which made steps about 15% slower, and
    3-4x slower for ten steps soon after each compile (measured at 4 and 8 px, cpu-smoke).
    """

    def __init__(self, rev: Revision, log_path: Path, cores: set[int], threads: int = 0):
        self.rev, self.log_path = rev, log_path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(rev.path), os.environ.get("PYTHONPATH", "")]),
               "OPENBLAS_NUM_THREADS": "1"}  # injected numpy work stays on the worker's own core
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([rev.python, "-c", WORKER_BOOT, str(threads), rev.worker], cwd=rev.path, env=env,
                                     text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)  # Ctrl-C reaches the driver, which stops the worker
        self.pin(cores)

    def pin(self, cores: set[int]) -> None:
        """Move every thread of the worker to ``cores``."""
        pin(self.proc.pid, cores)

    def send(self, op: str, **kw) -> None:
        """Send one request (read its reply with ``receive``)."""
        try:
            self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerError(self._failed("exited")) from None

    def receive(self) -> dict:
        """Return the reply to the last request, or raise WorkerError."""
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(self._failed(f"exited with code {self.proc.wait()}"))
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(self._failed(reply.get("error", "failed")))
        return reply

    def request(self, op: str, **kw) -> dict:
        """Send one request and return its reply."""
        self.send(op, **kw)
        return self.receive()

    def _failed(self, what: str) -> str:
        return f"{self.rev.role} worker ({self.rev.name}) {what}; its log: {self.log_path}"

    def close(self, graceful: bool = True) -> None:
        """Stop the worker (``quit``, else kill its process group); nothing is left running."""
        if self.proc.poll() is None and graceful:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (WorkerError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


@dataclass
class EntryState:
    """Samples gathered for one entry: per side and clock, in pair order; the latest verdict."""

    entry: Entry
    samples: dict = field(default_factory=lambda: {(r, c): [] for r in ("base", "head") for c in CLOCKS})
    rounds: list = field(default_factory=list)  # the entry's own round number of each pair
    injected: list = field(default_factory=list)  # head's seconds of injected work per step (calibration)
    verdict: ab_stats.PairedVerdict | None = None
    clock: str = "wall"  # the clock of ``verdict``
    prepared: dict = field(default_factory=dict)

    def pairs(self, clock: str) -> tuple[list, list]:
        """Return the base and head samples of ``clock`` (index i of each is pair i)."""
        return self.samples[("base", clock)], self.samples[("head", clock)]

    def injected_fraction(self) -> float:
        """Return the realised injected slowdown: median injected seconds / median base wall step (0 if none)."""
        base = self.samples[("base", "wall")]
        return float(np.median(self.injected) / np.median(base)) if self.injected and base else 0.0

    def block_log_ratios(self, clock: str) -> "np.ndarray":
        """Return one mean log-ratio per complete block of two rounds (the sides on each core once)."""
        complete = 2 * (len(set(self.rounds)) // 2)
        keep = [i for i, r in enumerate(self.rounds) if r < complete]
        base, head = (np.asarray(x)[keep] for x in self.pairs(clock))
        return ab_stats.block_log_ratios(base, head, np.asarray(self.rounds)[keep] // 2)


@dataclass
class Settings:
    """How to measure and decide."""

    preset: str = "cpu-smoke"
    seed: int = 0  # data and latents, the same on both sides
    design: str = "duet"  # or "alternate" (one side at a time on all cores, A B B A)
    clock: str = "both"  # "wall", "cpu" or "both" (the worse verdict)
    burst: int = 1  # steps per side per round
    budget_s: float = 300.0  # the whole run, compiles included
    threshold: float = 0.05  # smallest relative slowdown that counts
    alpha: float = 0.01  # one-sided signed-rank level
    min_blocks: int = 10  # blocks (two rounds, cores swapped) before any verdict
    max_blocks: int = 100  # an entry stops sampling here even if undecided


def duet_cores() -> tuple[int, int] | None:
    """Return two cores this process may use for a duet, or None when there is only one."""
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else None


class ABRun:
    """One A/B measurement of two revisions on this machine: start workers, sample, decide, record."""

    def __init__(self, base: Revision, head: Revision, entries: list[Entry], settings: Settings, out_dir: Path):
        self.revs = {"base": base, "head": head}
        self.s = settings
        self.states = [EntryState(e) for e in entries]
        self.store = RecordStore(out_dir)
        self.run_id = new_run_id()
        self.meta = collect_meta("CPU", 1)
        self.cores = duet_cores() if settings.design == "duet" else None
        if settings.design == "duet" and self.cores is None:
            raise CannotCompare("the duet design needs 2 cores; this process may use 1: use --design alternate")
        self.all_cores = set(os.sched_getaffinity(0))
        self.threads = 1 if self.cores else 0  # a worker pinned to one core runs one MindSpore thread
        self.workers: dict[str, WorkerProcess] = {}
        self.summary: list[dict] = []  # the ``ab_ratio`` records, once sampling is done
        self.versions: dict[str, dict] = {}  # per side, from its worker's hello: python, mindspore, numpy
        self.rounds = 0

    def _core_of(self, role: str, rnd: int) -> int | None:
        if self.cores is None:
            return None
        return self.cores[(rnd + (role == "head")) % 2]  # the sides swap cores every round

    def start(self) -> None:
        """Start both workers, check their protocol, and prepare every entry (compile + warm-up), side by side."""
        for role, rev in self.revs.items():
            core = self._core_of(role, 0)
            self.workers[role] = WorkerProcess(rev, self.store.dir / f"ab-{self.run_id}-{role}.log",
                                               self.all_cores if core is None else {core}, self.threads)
        for role, w in self.workers.items():
            hello = w.request("hello")
            if hello.get("protocol") != PROTOCOL:
                raise CannotCompare(f"{role} worker speaks protocol {hello.get('protocol')}, this driver {PROTOCOL}")
            self.versions[role] = {k: hello.get(k) for k in ("python", "mindspore", "numpy")}
        for st in self.states:
            e = st.entry
            for role, w in self.workers.items():
                w.send("prepare", entry=e.name, preset=self.s.preset, scale=e.scale, phase=e.phase, seed=self.s.seed,
                       inject=e.inject if role == "head" else 0.0)
            st.prepared = {role: w.receive() for role, w in self.workers.items()}

    def close(self, graceful: bool = True) -> None:
        """Stop the workers."""
        for w in self.workers.values():
            w.close(graceful)

    def _round(self, st: EntryState, rnd: int) -> dict[str, tuple[dict, int | None]]:
        """Run one burst of both sides of an entry; return each side's reply and core."""
        k, name = self.s.burst, st.entry.name
        if self.s.design == "duet":  # both sides at once, each on its own core
            for role, w in self.workers.items():
                w.pin({self._core_of(role, rnd)})
                w.send("run", entry=name, k=k)
            return {role: (w.receive(), self._core_of(role, rnd)) for role, w in self.workers.items()}
        order = ("base", "head") if rnd % 2 == 0 else ("head", "base")  # A B B A ...
        return {role: (self.workers[role].request("run", entry=name, k=k), None) for role in order}

    def _record_round(self, st: EntryState, rnd: int, replies: dict) -> None:
        start, own_round = len(st.samples[("base", "wall")]), len(set(st.rounds))
        st.rounds.extend([own_round] * len(replies["base"][0]["wall_s"]))
        rows = []
        for role, (reply, core) in replies.items():
            labels = {"scale": st.entry.scale, "phase": st.entry.phase, "inject": st.entry.inject,
                      **self.revs[role].labels(), **self.versions[role], "round": rnd, "entry_round": own_round,
                      "block": own_round // 2, "pair_start": start, "core": core, "design": self.s.design}
            for clock, metric in (("wall", "step_time"), ("cpu", "step_cpu_time")):
                values = reply[f"{clock}_s"]
                st.samples[(role, clock)].extend(values)
                rows.append(make_record(run_id=self.run_id, scenario="ab", metric=metric, unit="s",
                                        value=float(np.median(values)), samples=values, labels=labels,
                                        meta=self.meta, params=self._params(), seeds={"run": self.s.seed}))
            if role == "head" and st.entry.inject:  # wall seconds of the injected work inside those steps
                st.injected.extend(reply["injected_s"])
                rows.append(make_record(run_id=self.run_id, scenario="ab", metric="injected_time", unit="s",
                                        value=float(np.median(reply["injected_s"])), samples=reply["injected_s"],
                                        labels=labels, meta=self.meta, params=self._params(),
                                        seeds={"run": self.s.seed}))
        self.store.append(rows)

    def _params(self) -> dict:
        return {"preset": self.s.preset, "device": "CPU", "devices": 1, "variant": "reference",
                "design": self.s.design, "clock": self.s.clock, "burst": self.s.burst, "ms_threads": self.threads}

    def decide(self, st: EntryState) -> ab_stats.PairedVerdict:
        """Return (and keep) the entry's verdict on the pairs so far: with ``clock='both'`` the worse of the wall
        and the CPU verdicts (a tie goes to CPU time, the less noisy), and ``st.clock`` says which."""
        clocks = ("cpu", "wall") if self.s.clock == "both" else (self.s.clock,)
        verdicts = [ab_stats.decide(st.block_log_ratios(c), self.s.threshold, self.s.alpha, self.s.min_blocks)
                    for c in clocks]
        worst = min(range(len(clocks)), key=lambda i: SEVERITY.index(verdicts[i].verdict))
        # a slowdown is found when either clock finds it: the smaller MDE is the gate's
        st.verdict = dataclasses.replace(verdicts[worst], mde=min(v.mde for v in verdicts))
        st.clock = clocks[worst]
        return st.verdict

    def sample(self, deadline: float, progress=None) -> None:
        """Run rounds over the undecided entries until each is decisive, ``max_blocks`` or the deadline."""
        open_ = list(self.states)
        while open_ and time.monotonic() < deadline:
            for st in list(open_):
                self._record_round(st, self.rounds, self._round(st, self.rounds))
                v = self.decide(st)
                if v.verdict != Verdict.INCONCLUSIVE or v.n >= self.s.max_blocks:
                    open_.remove(st)
                if progress:
                    progress(st)
                if time.monotonic() >= deadline:
                    break
            self.rounds += 1
        for st in self.states:
            if st.verdict is None:
                self.decide(st)

    def summary_records(self) -> list[dict]:
        """Return one ``ab_ratio`` record per entry: the verdict, ratio, CI, p, MDE and both medians."""
        rows = []
        for st in self.states:
            base, head = st.pairs(st.clock)
            v = st.verdict
            labels = {"scale": st.entry.scale, "phase": st.entry.phase, "inject": st.entry.inject,
                      "injected_fraction": st.injected_fraction(), "base_commit": self.revs["base"].commit,
                      "head_commit": self.revs["head"].commit,
                      "head_dirty": self.revs["head"].dirty, "design": self.s.design, "clock": st.clock,
                      "base_median_s": summarize(base).get("median"), "head_median_s": summarize(head).get("median"),
                      **{k: getattr(v, k) for k in ("verdict", "ci_low", "ci_high", "pvalue", "n", "sigma", "mde",
                                                     "threshold", "reason")}}
            rows.append(make_record(run_id=self.run_id, scenario="ab", metric="ab_ratio", unit="head/base",
                                    value=v.ratio, labels=labels, meta=self.meta, params=self._params(),
                                    seeds={"run": self.s.seed}))
        return rows


def run_ab(base: Revision, head: Revision, entries: list[Entry], settings: Settings, out_dir: Path,
           progress=None) -> ABRun:
    """Measure ``base`` against ``head`` on ``entries`` within ``settings.budget_s``; return the finished run.

    Workers are stopped on every exit path (an interrupt kills them at once); the per-round records and, when
    the run completes, one summary record per entry are in ``out_dir/records.jsonl``.
    """
    deadline = time.monotonic() + settings.budget_s
    run = ABRun(base, head, entries, settings, out_dir)
    graceful = False
    try:
        run.start()
        run.sample(deadline, progress)
        run.summary = run.summary_records()
        run.store.append(run.summary)
        graceful = True
        return run
    finally:
        run.close(graceful)
