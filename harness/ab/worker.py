"""``python -m harness.ab.worker``: one revision's long-lived A/B worker, a JSON-lines server on stdin/stdout.

Protocol (version ``PROTOCOL``), one JSON object per line each way; every reply has ``ok`` (and ``error`` if not):
  {"op": "hello"}                                   -> {"protocol": 1, "pid", "python", "mindspore", "numpy"}
  {"op": "prepare", "entry", "preset", "scale", "phase", "seed", ["warmup", "warm", "inject": fraction]}
                                                    -> {"compile_s", "warm_median_s", "inject"}
  {"op": "run", "entry", "k"}                       -> {"wall_s", "cpu_s", "injected_s": k floats each}
  {"op": "quit"}                                    -> {} and the process exits
``inject`` (hidden; for calibration and tests) adds real numpy compute worth that fraction of each step's own
time inside the timed region. Anything the code prints goes to stderr: stdout carries the protocol only.
Nothing of the harness is imported at module level: this file also runs, copied, on the code of revisions that
predate it (``revisions.today_worker``), building their steps with their own step-time API (``step_api``).
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PROTOCOL = 1
BATCH_POOL = 4  # batches fetched once at prepare and cycled: no data loader thread runs beside a timed step
_STEPS: dict = {}  # (preset, scale, seed) -> (ScaleStep, batches): the phases of a scale share its compiled step


@dataclass
class TimedStep:
    """A ready-to-time step: ``compute(batch)`` waits for the device; ``batches`` are cycled through."""

    compute: Callable[[object], object]
    batches: list


def step_api() -> tuple[Callable, Callable, Callable]:
    """Return (make_context, resolve_config, scale_steps) of the harness on the path, in its layout: the runner in
    ``harness/runs/`` (the package layout) or in ``harness/`` (revisions before it, back to the step-time scenario).

    The layout is told by the file in the imported ``harness`` package, not by trying an import: an editable install
    of another checkout would answer a module this revision lacks.
    """
    import harness

    packaged = (Path(harness.__file__).parent / "runs" / "runner.py").exists()
    runner = importlib.import_module("harness.runs.runner" if packaged else "harness.runner")
    from harness.scenarios.common import resolve_config
    from harness.scenarios.step_time import scale_steps

    return runner.make_context, resolve_config, scale_steps


def build_timed_step(preset: str, scale: int, phase: str, seed: int) -> TimedStep:
    """Return the step-time scenario's step for (preset, scale, phase, seed): the ONE place tied to its internals.

    Built the way ``harness.scenarios.step_time`` builds it (``scale_steps``, ``ScaleStep.compute_at``,
    ``resolve_config``; the fused structure of the reference variant); the phases of one scale share one
    compiled step. ``resolve_config`` returned the config alone in the first revisions, (context, config) since.
    """
    make_context, resolve_config, scale_steps = step_api()
    key = (preset, scale, seed)
    if key not in _STEPS:
        ctx = make_context("step-time", os.devnull, preset, "CPU", 1, "reference", {}, seed)
        resolved = resolve_config(ctx)
        ctx, cfg = resolved if isinstance(resolved, tuple) else (ctx, resolved)
        steps = scale_steps(ctx, cfg)
        try:
            st = next(s for s in steps if s.scale == scale)
        except StopIteration:
            raise ValueError(f"preset {preset} has no scale {scale}") from None
        batches = [st.fetch() for _ in range(BATCH_POOL)]
        steps.close()  # closes the data iterator; the step and the fetched batches stay
        _STEPS[key] = (st, batches)
    st, batches = _STEPS[key]
    alphas = dict(st.phases())
    if phase not in alphas:
        raise ValueError(f"scale {scale} has no phase {phase!r}; it has {', '.join(alphas)}")
    return TimedStep(st.compute_at(alphas[phase]), batches)


def injected_work(fraction: float) -> Callable[[float], None]:
    """Return ``work(step_s)``: real compute (products of a 96x96 float32 matrix, numpy, one thread) that runs
    until ``fraction * step_s`` seconds have passed, so each timed step takes ``1 + fraction`` times its own time.

    Sized per step, not once: a fixed number of products took 0.6-4x its calibrated time beside the step, as the
    other worker's load and the step's cache footprint changed its speed.
    """
    import numpy as np

    a = np.random.default_rng(0).standard_normal((96, 96)).astype(np.float32)

    def work(step_s: float) -> None:
        until = time.perf_counter() + fraction * step_s
        while time.perf_counter() < until:
            a @ a

    return work


class Worker:
    """The worker's state: prepared entries and how to time them."""

    def __init__(self):
        self.entries: dict[str, tuple[TimedStep, Callable[[float], None] | None]] = {}
        self.calls = 0

    def hello(self, req: dict) -> dict:
        """Answer the protocol version and the versions this process runs."""
        import mindspore
        import numpy

        return {"protocol": PROTOCOL, "pid": os.getpid(), "python": sys.version.split()[0],
                "mindspore": mindspore.__version__, "numpy": numpy.__version__}

    def _once(self, step: TimedStep, extra: Callable[[float], None] | None = None) -> tuple[float, float, float]:
        batch = step.batches[self.calls % len(step.batches)]
        self.calls += 1
        w0, c0 = time.perf_counter(), time.process_time()
        step.compute(batch)
        w1 = time.perf_counter()
        if extra:
            extra(w1 - w0)
        w2 = time.perf_counter()
        return w2 - w0, time.process_time() - c0, w2 - w1

    def prepare(self, req: dict) -> dict:
        """Build, compile and warm up one entry (with its injected compute, if any)."""
        step = build_timed_step(req["preset"], int(req["scale"]), req["phase"], int(req["seed"]))
        compile_s = self._once(step)[0]
        for _ in range(int(req.get("warmup", 5))):  # the first steps after a compile are slower: not measured
            self._once(step)
        warm = sorted(self._once(step)[0] for _ in range(max(1, int(req.get("warm", 5)))))
        inject = float(req.get("inject", 0.0))
        self.entries[req["entry"]] = (step, injected_work(inject) if inject else None)
        return {"compile_s": compile_s, "warm_median_s": warm[len(warm) // 2], "inject": inject}

    def run(self, req: dict) -> dict:
        """Time ``k`` steps of a prepared entry: wall and process-CPU seconds per step (and of the injected work)."""
        step, extra = self.entries[req["entry"]]
        wall, cpu, injected = zip(*(self._once(step, extra) for _ in range(int(req["k"]))))
        return {"wall_s": list(wall), "cpu_s": list(cpu), "injected_s": list(injected)}


def serve(lines, reply: Callable[[dict], None]) -> int:
    """Answer each request line until ``quit`` or end of input; return the exit code."""
    worker = Worker()
    for line in lines:
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "quit":
                reply({"ok": True})
                return 0
            if op not in ("hello", "prepare", "run"):
                raise ValueError(f"unknown op {op!r}")
            reply({"ok": True, **getattr(worker, op)(req)})
        except Exception as e:  # reported to the driver, which decides; the worker keeps serving
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})
    return 0


def main() -> int:
    """Serve the protocol on the original stdout; everything else printed goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from pgan_ref.device import setup

    setup("CPU")

    def reply(obj: dict) -> None:
        proto.write(json.dumps(obj) + "\n")

    return serve(sys.stdin, reply)


if __name__ == "__main__":
    sys.exit(main())
