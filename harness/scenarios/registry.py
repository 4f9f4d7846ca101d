"""The scenario registry: imports every scenario module and registers what it declares.

Scenario modules depend only on ``harness.scenarios.api``; this module depends on them (their imports
are at the bottom), never the other way round. Adding a scenario: its module, plus one entry below.
"""
from __future__ import annotations

from pathlib import Path

from harness.scenarios.api import RunContext, Scenario, resolve_options

SCENARIOS: dict[str, Scenario] = {}


def register(spec: Scenario) -> None:
    """Register a declared scenario under its name (names are unique)."""
    if spec.name in SCENARIOS:
        raise ValueError(f"scenario {spec.name!r} registered twice")
    SCENARIOS[spec.name] = spec


def get(name: str) -> Scenario:
    """Return the scenario called ``name`` or raise a KeyError listing the known ones."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None


def context(name: str, *, run_id: str, out_dir: Path, overrides: dict | None = None, **fields) -> RunContext:
    """Return the RunContext of scenario ``name`` with its options resolved from ``overrides``."""
    overrides = dict(overrides or {})
    return RunContext(run_id=run_id, scenario=name, out_dir=Path(out_dir), overrides=overrides,
                      resolved=resolve_options(get(name).options, overrides), **fields)


def rebind(ctx: RunContext, name: str, **changes) -> RunContext:
    """Return ``ctx`` as a context of scenario ``name`` (its options resolved again), with some fields changed."""
    fields = {**{k: getattr(ctx, k) for k in ("preset", "device", "devices", "variant", "seed", "meta", "rank")},
              **changes}
    return context(name, run_id=fields.pop("run_id", ctx.run_id), out_dir=fields.pop("out_dir", ctx.out_dir),
                   overrides=fields.pop("overrides", ctx.overrides), **fields)


from harness.scenarios import fid, loss_ranges, mindir_latency, quality, step_time  # noqa: E402  (registered below)

for _module in (loss_ranges, step_time, mindir_latency, fid, quality):
    register(_module.run.scenario)
