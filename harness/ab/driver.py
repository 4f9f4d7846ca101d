"""Drive an A/B run: one worker process per revision, paired bursts of steps, sequential verdicts, records."""
from __future__ import annotations

import dataclasses
import json
import math
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
from harness.errors import BadInput
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
    """One revision's A/B worker (``rev.worker``): the revision's interpreter, its code first on PYTHONPATH (then
    ``rev.worker_path``, where today's worker is for a revision that predates the protocol).

    ``threads`` is MindSpore's CPU thread count (0: the revision's own choice, ``PGAN_CPU_THREADS`` where its
    ``device.setup`` knows it, else MindSpore's default). A duet worker pinned to one core
    runs one thread: two pool threads on one core spin against each other, which made steps about 15% slower, and
    3-4x slower for ten steps soon after each compile (measured at 4 and 8 px, cpu-smoke).
    """

    def __init__(self, rev: Revision, log_path: Path, cores: set[int], threads: int = 0):
        self.rev, self.log_path = rev, log_path
        path = [str(rev.path), *([rev.worker_path] if rev.worker_path else []), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path),
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
            code = self.proc.wait()
            raise WorkerError(self._failed(f"exited with code {code}{self._last_error()}"))
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(self._failed(reply.get("error", "failed")))
        return reply

    def request(self, op: str, **kw) -> dict:
        """Send one request and return its reply."""
        self.send(op, **kw)
        return self.receive()

    def _last_error(self) -> str:
        """Return ': LAST LINE' of the worker's log (its exception, e.g. a missing module), '' if none."""
        self.log.flush()
        lines = [line.strip() for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        if not lines:
            return ""
        missing = "No module named" in lines[-1]
        return f": {lines[-1]}" + (f" (under {self.rev.python}: give an interpreter whose environment has this "
                                   f"project's dependencies)" if missing else "")

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
    """Samples gathered for one entry: per side and clock, in pair order; the latest verdict; its round costs."""

    entry: Entry
    samples: dict = field(default_factory=lambda: {(r, c): [] for r in ("base", "head") for c in CLOCKS})
    rounds: list = field(default_factory=list)  # the entry's own round number of each pair
    injected: list = field(default_factory=list)  # head's seconds of injected work per step (calibration)
    verdict: ab_stats.PairedVerdict | None = None
    clock: str = "wall"  # the clock of ``verdict``
    prepared: dict = field(default_factory=dict)
    round_s: list = field(default_factory=list)  # wall seconds of each of its rounds

    def pairs(self, clock: str) -> tuple[list, list]:
        """Return the base and head samples of ``clock`` (index i of each is pair i)."""
        return self.samples[("base", clock)], self.samples[("head", clock)]

    @property
    def own_rounds(self) -> int:
        """Return the number of rounds this entry has run."""
        return len(set(self.rounds))

    @property
    def blocks(self) -> int:
        """Return the number of complete blocks (two rounds) of this entry."""
        return self.own_rounds // 2

    def injected_fraction(self) -> float:
        """Return the realised injected slowdown: median injected seconds / median base wall step (0 if none)."""
        base = self.samples[("base", "wall")]
        return float(np.median(self.injected) / np.median(base)) if self.injected and base else 0.0

    def block_log_ratios(self, clock: str) -> "np.ndarray":
        """Return one mean log-ratio per complete block of two rounds (the sides on each core once)."""
        complete = 2 * self.blocks
        keep = [i for i, r in enumerate(self.rounds) if r < complete]
        base, head = (np.asarray(x)[keep] for x in self.pairs(clock))
        return ab_stats.block_log_ratios(base, head, np.asarray(self.rounds)[keep] // 2)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)


MAX_BURST = 1000
MAX_THRESHOLD = 10.0  # a slowdown of 1000 %: anything larger is a typo, not a gate
MAX_BLOCKS = 100
# What each setting accepts, and the test. The ``ab`` command checks its options and gate-file fields with the same
# table (``setting_problem``), so a bad value is refused before anything starts.
LIMITS = {
    "preset": ("a preset name", lambda v: isinstance(v, str) and bool(v)),
    "seed": ("an integer >= 0", lambda v: _is_int(v) and v >= 0),
    "design": (" or ".join(DESIGNS), lambda v: v in DESIGNS),
    "clock": ("wall, cpu or both", lambda v: v in (*CLOCKS, "both")),
    "burst": (f"an integer from 1 to {MAX_BURST}", lambda v: _is_int(v) and 1 <= v <= MAX_BURST),
    "budget_s": ("seconds > 0, e.g. 300", lambda v: _is_number(v) and v > 0),
    "threshold": (f"a slowdown > 0 and <= {MAX_THRESHOLD:.0%}, e.g. 5%",
                  lambda v: _is_number(v) and 0 < v <= MAX_THRESHOLD),
    "alpha": ("a level > 0 and < 0.5, e.g. 0.01", lambda v: _is_number(v) and 0 < v < 0.5),
    "min_blocks": (f"an integer from 2 to {MAX_BLOCKS}", lambda v: _is_int(v) and 2 <= v <= MAX_BLOCKS),
    "max_blocks": (f"an integer from 2 to {MAX_BLOCKS}", lambda v: _is_int(v) and 2 <= v <= MAX_BLOCKS),
}


def setting_problem(name: str, value) -> str | None:
    """Return what setting ``name`` accepts when ``value`` is not among it, else None."""
    accepted, ok = LIMITS[name]
    try:
        return None if ok(value) else accepted
    except TypeError:  # e.g. a list where a name is expected
        return accepted


@dataclass
class Settings:
    """How to measure and decide (every field checked on construction: ``BadInput`` names a bad one)."""

    preset: str = "cpu-smoke"
    seed: int = 0  # data and latents, the same on both sides
    design: str = "duet"  # or "alternate" (one side at a time on all cores, A B B A)
    clock: str = "both"  # "wall", "cpu" or "both" (the worse verdict; each clock judged at alpha / 2)
    burst: int = 1  # steps per side per round
    budget_s: float = 300.0  # the whole run, compiles included
    threshold: float = 0.05  # smallest relative slowdown that counts
    alpha: float = 0.01  # error rate of a false "regressed" (and of a false "no change"), over all looks
    min_blocks: int = 3  # the first look (blocks: two rounds, cores swapped); ``stats.look_schedule`` the rest
    max_blocks: int = MAX_BLOCKS  # the last look: an entry stops sampling here even if undecided

    def __post_init__(self):
        for name in LIMITS:
            problem = setting_problem(name, getattr(self, name))
            if problem:
                raise BadInput(f"A/B setting {name}={getattr(self, name)!r}: expected {problem}")
        if self.min_blocks > self.max_blocks:
            raise BadInput(f"A/B setting min_blocks={self.min_blocks} above max_blocks={self.max_blocks}")

    @property
    def clocks(self) -> tuple[str, ...]:
        """Return the clocks judged (CPU first: a tie between two verdicts goes to the less noisy clock)."""
        return ("cpu", "wall") if self.clock == "both" else (self.clock,)


def duet_cores() -> tuple[int, int] | None:
    """Return two cores this process may use for a duet, or None when there is only one."""
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else None


class ABRun:
    """One A/B measurement of two revisions on this machine: start workers, plan, sample, decide, record."""

    WARMUP = 2  # steps after the compile not measured (with one thread per pinned worker they are steady from the 2nd)

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
        self.looks = ab_stats.look_schedule(settings.min_blocks, settings.max_blocks)

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
                       inject=e.inject if role == "head" else 0.0, warmup=self.WARMUP, warm=1)
            st.prepared = {role: w.receive() for role, w in self.workers.items()}

    def close(self, graceful: bool = True) -> None:
        """Stop the workers."""
        for w in self.workers.values():
            w.close(graceful)

    def _round(self, st: EntryState) -> dict[str, tuple[dict, int | None]]:
        """Run one burst of both sides of an entry (its next own round); return each side's reply and core."""
        k, name, rnd = self.s.burst, st.entry.name, st.own_rounds
        t0 = time.monotonic()
        if self.s.design == "duet":  # both sides at once, each on its own core
            for role, w in self.workers.items():
                w.pin({self._core_of(role, rnd)})
                w.send("run", entry=name, k=k)
            replies = {role: (w.receive(), self._core_of(role, rnd)) for role, w in self.workers.items()}
        else:
            order = ("base", "head") if rnd % 2 == 0 else ("head", "base")  # A B B A ...
            replies = {role: (self.workers[role].request("run", entry=name, k=k), None) for role in order}
        st.round_s.append(time.monotonic() - t0)
        return replies

    def _record_round(self, st: EntryState, replies: dict) -> None:
        start, own_round = len(st.samples[("base", "wall")]), st.own_rounds
        st.rounds.extend([own_round] * len(replies["base"][0]["wall_s"]))
        rows = []
        for role, (reply, core) in replies.items():
            labels = {"scale": st.entry.scale, "phase": st.entry.phase, "inject": st.entry.inject,
                      **self.revs[role].labels(), **self.versions[role], "round": self.rounds,
                      "entry_round": own_round, "block": own_round // 2, "pair_start": start, "core": core,
                      "design": self.s.design}
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
        self.rounds += 1

    def _params(self) -> dict:
        return {"preset": self.s.preset, "device": "CPU", "devices": 1, "variant": "reference",
                "design": self.s.design, "clock": self.s.clock, "burst": self.s.burst, "ms_threads": self.threads,
                "alpha": self.s.alpha, "min_blocks": self.s.min_blocks, "max_blocks": self.s.max_blocks}

    def _level(self) -> float:
        """Return the level each clock is judged at: alpha, split between the clocks judged (Bonferroni)."""
        return self.s.alpha / len(self.s.clocks)

    def decide(self, st: EntryState) -> ab_stats.PairedVerdict:
        """Return (and keep) the entry's verdict at its last look: with ``clock='both'`` the worse of the CPU and
        wall verdicts, each at alpha / 2 (a tie goes to CPU time, the less noisy), and ``st.clock`` says which."""
        clocks = self.s.clocks
        verdicts = [ab_stats.decide(st.block_log_ratios(c), self.s.threshold, self._level(), self.s.min_blocks,
                                    self.s.max_blocks) for c in clocks]
        worst = min(range(len(clocks)), key=lambda i: SEVERITY.index(verdicts[i].verdict))
        # a slowdown is found when either clock finds it: the smaller MDE is the gate's
        st.verdict = dataclasses.replace(verdicts[worst], mde=min(v.mde for v in verdicts))
        st.clock = clocks[worst]
        return st.verdict

    def next_look(self, st: EntryState) -> int | None:
        """Return the block count of the entry's next planned look (None after the last)."""
        return next((n for n in self.looks if n > st.blocks), None)

    def projected_blocks(self, st: EntryState) -> int | None:
        """Return the look at which the entry's blocks so far project a verdict (None: none up to max_blocks).

        With two clocks: a clock whose estimate is beyond the threshold decides as soon as it regresses; otherwise
        both must reach "no change", so the later of the two."""
        per_clock = {c: ab_stats.blocks_to_decide(st.block_log_ratios(c), self.s.threshold, self._level(),
                                                  self.s.min_blocks, self.s.max_blocks) for c in self.s.clocks}
        bound = np.log1p(self.s.threshold)
        beyond = [n for c, n in per_clock.items() if n is not None and abs(np.mean(st.block_log_ratios(c))) > bound]
        if beyond:
            return min(beyond)
        return None if None in per_clock.values() else max(per_clock.values())

    def round_cost(self, st: EntryState) -> float:
        """Return the seconds one round of the entry costs: the median of its rounds so far, else estimated from
        its prepared steps (a burst of the slower side; of both sides one after the other in the alternate design)."""
        if st.round_s:
            return float(np.median(st.round_s))
        steps = [float(r.get("warm_median_s", 0.0)) for r in st.prepared.values()] or [0.0]
        return self.s.burst * (max(steps) if self.s.design == "duet" else sum(steps))

    def seconds_to(self, st: EntryState, blocks: int) -> float:
        """Return the estimated seconds to bring the entry to ``blocks`` blocks."""
        return max(0, 2 * blocks - st.own_rounds) * self.round_cost(st)

    def _run_to(self, st: EntryState, blocks: int, deadline: float, progress=None, rounds: int = 10 ** 6) -> None:
        """Run at most ``rounds`` rounds of the entry towards ``blocks`` blocks (until the deadline); decide it when
        it has them."""
        for _ in range(rounds):
            if st.own_rounds >= 2 * blocks or time.monotonic() >= deadline:
                break
            self._record_round(st, self._round(st))
        if st.own_rounds == 2 * blocks:
            self.decide(st)
            if progress:
                progress(st)

    def _open(self) -> list[EntryState]:
        return [st for st in self.states
                if (st.verdict is None or st.verdict.verdict == Verdict.INCONCLUSIVE) and self.next_look(st)]

    def _priority(self, st: EntryState) -> tuple:
        """Sort key: suspected changes (estimate beyond the threshold) first, largest first; then the entries
        projected to decide soonest; entries no look is projected to decide last."""
        v = st.verdict
        effect = abs(np.log(v.ratio)) if v and np.isfinite(v.ratio) else 0.0
        if effect > np.log1p(self.s.threshold):
            return (0, -effect)
        need = self.projected_blocks(st)
        return (1, self.seconds_to(st, need)) if need else (2, -effect)

    def sample(self, deadline: float, progress=None, say=lambda line: None) -> None:
        """Plan and sample: every entry to its first look (cheapest first when the budget cannot hold them all),
        then look by look where a verdict is nearest, until every entry is decided, at its last look, or the
        deadline. Each plan (seconds needed against seconds left) is said before sampling; an entry the budget
        leaves undecided says so in its reason."""
        first = self.s.min_blocks
        left = deadline - time.monotonic()
        costs = {st.entry.name: self.round_cost(st) for st in self.states}
        need = sum(self.seconds_to(st, first) for st in self.states)
        say(f"plan: round cost {', '.join(f'{k} {v:.2f} s' for k, v in costs.items())}; the first look "
            f"({first} blocks each) needs ~{need:.0f} s of {left:.0f} s left")
        order = sorted(self.states, key=lambda st: self.seconds_to(st, first))
        if need > left:
            fit, acc = [], 0.0
            for st in order:
                acc += self.seconds_to(st, first)
                if acc <= left:
                    fit.append(st.entry.name)
            say(f"plan: the budget cannot reach a verdict for every entry: the first looks need ~{need:.0f} s, "
                f"{left:.0f} s left; sampling the cheapest first ({', '.join(fit) or 'none fits'}); raise --budget-s "
                f"by ~{need - left:.0f} s to decide them all")
        if need > left:  # one entry after the other, so that the cheapest ones do reach their first look
            for st in order:
                self._run_to(st, first, deadline, progress)
        while any(st.own_rounds < 2 * first for st in order) and time.monotonic() < deadline:
            for st in order:  # round-robin, so that drift is spread over all entries
                if st.own_rounds < 2 * first:
                    self._run_to(st, first, deadline, progress, rounds=1)
        self._plan_rest(deadline, say)
        while (open_ := self._open()) and time.monotonic() < deadline:
            left = deadline - time.monotonic()
            fits = [st for st in sorted(open_, key=self._priority) if self.seconds_to(st, self.next_look(st)) <= left]
            if not fits:
                say(f"plan: {left:.0f} s left, less than any undecided entry's next look needs: stopping")
                break
            self._run_to(fits[0], self.next_look(fits[0]), deadline, progress)
        for st in self.states:
            self.decide(st)
            if st.verdict.verdict == Verdict.INCONCLUSIVE and self.next_look(st):
                more = self.projected_blocks(st) if st.blocks >= first else first
                need = (f"a verdict needs ~{more} blocks, ~{self.seconds_to(st, more):.0f} s more" if more else
                        f"no look up to {self.s.max_blocks} blocks is projected to decide it (the estimate is near "
                        f"the threshold or the blocks too noisy)")
                st.verdict = dataclasses.replace(st.verdict, reason=f"{st.verdict.reason}; budget spent: {need}")

    def _plan_rest(self, deadline: float, say) -> None:
        """Say what deciding the entries still open needs (projected from their blocks) against the time left."""
        open_ = self._open()
        if not open_:
            return
        left = deadline - time.monotonic()
        needs = {st.entry.name: self.projected_blocks(st) for st in open_}
        secs = sum(self.seconds_to(st, needs[st.entry.name] or self.s.max_blocks) for st in open_)
        text = ", ".join(f"{k} ~{v} blocks" if v else f"{k} >{self.s.max_blocks} blocks" for k, v in needs.items())
        verdict = "fits" if secs <= left else "does NOT fit: the largest suspected changes are sampled first"
        say(f"plan: still open after the first look: {text}; ~{secs:.0f} s needed, {left:.0f} s left ({verdict})")

    def summary_records(self) -> list[dict]:
        """Return one ``ab_ratio`` record per entry: the verdict, ratio, interval, p, MDE, look and both medians."""
        rows = []
        for st in self.states:
            base, head = st.pairs(st.clock)
            v = st.verdict
            labels = {"scale": st.entry.scale, "phase": st.entry.phase, "inject": st.entry.inject,
                      "injected_fraction": st.injected_fraction(), "base_commit": self.revs["base"].commit,
                      "head_commit": self.revs["head"].commit,
                      "head_dirty": self.revs["head"].dirty, "design": self.s.design, "clock": st.clock,
                      "base_median_s": summarize(base).get("median"), "head_median_s": summarize(head).get("median"),
                      "blocks_sampled": st.blocks, "round_s": self.round_cost(st),
                      **{k: getattr(v, k) for k in ("verdict", "ci_low", "ci_high", "pvalue", "n", "sigma", "mde",
                                                     "threshold", "reason", "level", "look")}}
            rows.append(make_record(run_id=self.run_id, scenario="ab", metric="ab_ratio", unit="head/base",
                                    value=v.ratio, labels=labels, meta=self.meta, params=self._params(),
                                    seeds={"run": self.s.seed}))
        return rows


def run_ab(base: Revision, head: Revision, entries: list[Entry], settings: Settings, out_dir: Path,
           progress=None, say=None) -> ABRun:
    """Measure ``base`` against ``head`` on ``entries`` within ``settings.budget_s``; return the finished run.

    ``say(line)`` gets the budget plan (default: nowhere). Workers are stopped on every exit path (an interrupt
    kills them at once); the per-round records and, when the run completes, one summary record per entry are in
    ``out_dir/records.jsonl``.
    """
    deadline = time.monotonic() + settings.budget_s
    run = ABRun(base, head, entries, settings, out_dir)
    graceful = False
    try:
        run.start()
        run.sample(deadline, progress, say or (lambda line: None))
        run.summary = run.summary_records()
        run.store.append(run.summary)
        graceful = True
        return run
    finally:
        run.close(graceful)
