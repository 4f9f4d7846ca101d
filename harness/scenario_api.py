"""What a scenario module uses: options, the ``@scenario`` declaration, the input context and the result.

Scenario modules import only this module; ``harness.registry`` imports them and registers what they
declare, so no scenario depends on the registry (no import cycle).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .records import RecordStore, make_record


@dataclass(frozen=True)
class Option:
    """A scenario option set with ``--set name=value``: its help, default and converter."""

    name: str
    help: str
    default: object = None
    type: Callable = str


def resolve_options(options: tuple[Option, ...], overrides: dict) -> dict:
    """Return every declared option's value: the ``--set`` value converted by its type, else its default."""
    return {o.name: o.default if overrides.get(o.name) is None else o.type(overrides[o.name]) for o in options}


@dataclass(frozen=True)
class RunContext:
    """The input of one scenario run (never written by the scenario): parameters, resolved options, metadata."""

    run_id: str
    scenario: str
    out_dir: Path
    preset: str = "cpu-smoke"
    device: str = "CPU"
    devices: int = 1
    variant: str = "reference"
    overrides: dict = field(default_factory=dict)
    resolved: dict = field(default_factory=dict)  # the scenario's options, resolved once by the registry
    seed: int = 0
    meta: dict = field(default_factory=dict)
    config_hash: str | None = None
    rank: int = 0
    training: dict = field(default_factory=dict)  # dataset / optimizer / lr of the resolved config

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
        """Return a copy of the scenario's resolved options."""
        return dict(self.resolved)

    def config_overrides(self) -> dict:
        """Return the ``--set`` pairs that are not scenario options: they override the training config."""
        return {k: v for k, v in self.overrides.items() if k not in self.resolved}

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


@dataclass
class ScenarioResult:
    """What a scenario returns: its records, and for data-parallel runs a parameter checksum to compare ranks."""

    records: list[dict]
    checksum: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A declared scenario: name, help, options, ``run(ctx) -> ScenarioResult`` and what ranks need prepared."""

    name: str
    help: str
    run: Callable[[RunContext], ScenarioResult]
    options: tuple[Option, ...] = ()
    multi_device: bool = False
    prepare: Callable[[RunContext], dict] | None = None  # once, before ranks start: returns option overrides


def scenario(name: str, help: str, options: tuple[Option, ...] = (), multi_device: bool = False,
             prepare: Callable[[RunContext], dict] | None = None):
    """Declare the decorated ``run(ctx)`` as scenario ``name`` (``harness.registry`` registers it)."""

    def deco(fn):
        fn.scenario = Scenario(name, help, fn, tuple(options), multi_device, prepare)
        return fn

    return deco
