"""Run a registered scenario in this process or, for N devices, in N msrun workers; write records and events."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from harness.logs import mllog
from harness.records.machine import collect_meta
from harness.records.store import new_run_id
from harness.runs.launch import LaunchError, launch_msrun, worker_done
from harness.scenarios import registry
from harness.scenarios.api import RunContext, Scenario, ScenarioResult

DEFAULT_TIMEOUT_S = 3600.0


@dataclass
class Topology:
    """How a multi-device run spans hosts (msrun's --node_rank / --master_addr / --local_worker_num)."""

    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    local_devices: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S


def run_in_process(ctx: RunContext) -> ScenarioResult:
    """Run ``ctx.scenario`` here (device already set up); append its records and events; return its result."""
    scen = registry.get(ctx.scenario)
    log = mllog.MLLogger(mllog.events_path(ctx.out_dir, f"{ctx.run_id}-rank{ctx.rank}"))
    log.start(mllog.RUN_START, ctx.scenario, {"rank": ctx.rank, **ctx.params})
    log.event(mllog.SEED, ctx.seed, {"rank": ctx.rank})
    status = mllog.STATUS_ABORTED
    try:
        result = scen.run(ctx)
        ctx.emit(result.records)
        status = mllog.STATUS_SUCCESS
        return result
    finally:
        log.end(mllog.RUN_STOP, None, {mllog.STATUS: status, "rank": ctx.rank})


def make_context(name: str, out_dir: Path, preset: str, device: str, devices: int, variant: str,
                 overrides: dict, seed: int | None = None, run_id: str | None = None, rank: int = 0,
                 meta: dict | None = None) -> RunContext:
    """Return a RunContext with its options resolved, fresh metadata (unless given) and a fresh logged seed."""
    return registry.context(name, run_id=run_id or new_run_id(), out_dir=out_dir, overrides=overrides,
                            preset=preset, device=device, devices=devices, variant=variant,
                            seed=secrets.randbelow(2**31) if seed is None else seed,
                            meta=collect_meta(device, devices) if meta is None else meta, rank=rank)


def run_scenario(name: str, out_dir: Path, preset: str = "cpu-smoke", device: str = "CPU", devices: int = 1,
                 variant: str = "reference", overrides: dict | None = None, *, seed: int | None = None,
                 topology: Topology | None = None) -> Path:
    """Run scenario ``name`` on ``devices`` devices; return the output directory holding ``records.jsonl``."""
    scen = registry.get(name)
    out_dir = Path(out_dir)
    ctx = make_context(name, out_dir, preset, device, devices, variant, overrides or {}, seed)  # checks options
    if scen.check:
        scen.check(ctx)  # options that do not fit together fail before any device is set up
    out_dir.mkdir(parents=True, exist_ok=True)
    if devices == 1:
        from pgan_ref.device import setup

        setup(device)
        run_in_process(ctx)
        return out_dir
    if not scen.multi_device:
        raise ValueError(f"scenario {name!r} runs on one device only; drop --devices")
    return _run_msrun(ctx, scen, topology or Topology())


def _run_msrun(ctx: RunContext, scen: Scenario, topo: Topology) -> Path:
    overrides = {**ctx.overrides, **(scen.prepare(ctx) if scen.prepare else {})}  # once, not per rank
    args = ["-m", "harness.runs.worker", ctx.scenario, "--run-id", ctx.run_id, "--out", str(ctx.out_dir.resolve()),
            "--preset", ctx.preset, "--device", ctx.device, "--devices", str(ctx.devices),
            "--variant", ctx.variant, "--seed", str(ctx.seed)]
    for k, v in overrides.items():
        args += ["--set", f"{k}={v}"]
    work = ctx.out_dir / f"msrun-{ctx.run_id}"
    result = launch_msrun(args, workers=ctx.devices, local_workers=topo.local_devices, node_rank=topo.node_rank,
                          master_addr=topo.master_addr, master_port=topo.master_port, log_dir=work / "logs",
                          results_dir=work / "done", timeout_s=topo.timeout_s)
    if not result.ok:
        raise LaunchError(f"{ctx.scenario} on {ctx.devices} devices failed: {result.message}\n"
                          f"worker logs: {work / 'logs'}")
    return ctx.out_dir


def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of one msrun worker: join the group, run the scenario, report to the launcher."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m harness.runs.worker")
    p.add_argument("scenario")
    for flag in ("--run-id", "--out", "--preset", "--device", "--variant"):
        p.add_argument(flag, required=True)
    p.add_argument("--devices", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args(argv)
    from pgan_ref.cli_common import parse_sets
    from pgan_ref.device import setup

    rank, group = setup(a.device)
    done_dir = Path(a.out) / f"msrun-{a.run_id}" / "done"
    ctx = make_context(a.scenario, Path(a.out), a.preset, a.device, group, a.variant, parse_sets(a.set), a.seed,
                       a.run_id, rank)
    try:
        result = run_in_process(ctx)
    except Exception as e:  # reported to the launcher, which judges success from these files
        worker_done(done_dir, status="error", error=f"{type(e).__name__}: {e}")
        raise
    worker_done(done_dir, status="ok", records=len(result.records), checksum=result.checksum)
    return 0
