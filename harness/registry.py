"""The scenario registry: named, parameterised units of measurement that write records.

A scenario module registers itself with ``@scenario(...)`` and receives a ``RunContext``;
adding a scenario touches only its own module (plus one import line in ``harness.scenarios``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .records import RecordStore, make_record, utc_now


@dataclass
class RunContext:
    """Everything a scenario needs to run and to record: parameters, metadata, the store."""

    run_id: str
    scenario: str
    out_dir: Path
    preset: str = "cpu-smoke"
    device: str = "CPU"
    devices: int = 1
    variant: str = "reference"
    overrides: dict = field(default_factory=dict)
    seed: int = 0
    meta: dict = field(default_factory=dict)
    config_hash: str | None = None
    rank: int = 0
    checksum: float | None = None  # set by data-parallel scenarios: parameter sum to compare ranks
    training: dict = field(default_factory=dict)  # dataset / optimizer / lr, set by ``resolve_config``

    @property
    def store(self) -> RecordStore:
        """Return the results store under ``out_dir``."""
        return RecordStore(self.out_dir)

    @property
    def params(self) -> dict:
        """Return the scenario parameters recorded with every row."""
        return {"preset": self.preset, "device": self.device, "devices": self.devices,
                "variant": self.variant, "overrides": dict(self.overrides), **self.training}

    def options(self) -> dict:
        """Return the scenario's declared options: ``--set`` values converted with their types, else defaults."""
        return {o.name: o.default if self.overrides.get(o.name) is None else o.type(self.overrides[o.name])
                for o in get(self.scenario).options}

    def config_overrides(self) -> dict:
        """Return the ``--set`` pairs that are not scenario options: they override the training config."""
        names = {o.name for o in get(self.scenario).options}
        return {k: v for k, v in self.overrides.items() if k not in names}

    def record(self, metric: str, unit: str, value: float, *, params: dict | None = None, **kw) -> dict:
        """Build one record for this run (see ``records.make_record``) without writing it.

        ``params`` adds record-specific entries to the run's ``self.params``.
        """
        kw.setdefault("seeds", {"run": self.seed})
        kw.setdefault("config_hash", self.config_hash)
        return make_record(run_id=self.run_id, scenario=self.scenario, metric=metric, unit=unit,
                           value=value, meta=self.meta, params={**self.params, **(params or {})}, **kw)

    def emit(self, records: list[dict]) -> None:
        """Append records to the store durably (every rank appends; records carry a ``rank`` label)."""
        self.store.append(records)

    def replace(self, **changes) -> "RunContext":
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Option:
    """A scenario-specific command-line option (``--set`` keys are free-form; these are documented)."""

    name: str
    help: str
    default: object = None
    type: Callable = str


@dataclass(frozen=True)
class Scenario:
    """A registered scenario: its name, one-line help, options, and the function that runs it."""

    name: str
    help: str
    run: Callable[[RunContext], list[dict]]
    options: tuple[Option, ...] = ()
    multi_device: bool = False


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, help: str, options: tuple[Option, ...] = (), multi_device: bool = False):
    """Register the decorated ``run(ctx) -> records`` function as scenario ``name``."""

    def deco(fn):
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} registered twice")
        SCENARIOS[name] = Scenario(name, help, fn, tuple(options), multi_device)
        return fn

    return deco


def get(name: str) -> Scenario:
    """Return the scenario called ``name`` or raise a KeyError listing the known ones."""
    from . import scenarios  # noqa: F401  (imports register every scenario)

    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None


__all__ = ["RunContext", "Option", "Scenario", "SCENARIOS", "scenario", "get", "utc_now"]
