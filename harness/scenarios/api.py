"""What a scenario module uses: options, the ``@scenario`` declaration, the input context and the result.

Scenario modules import only this module; ``harness.scenarios.registry`` imports them and registers what they
declare, so no scenario depends on the registry (no import cycle).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.errors import BadInput, bounded
from harness.records.store import RecordStore, make_record


def boolean(text) -> bool:
    """Return a ``--set`` flag value: true/1/yes or false/0/no (any case), else raise ValueError."""
    value = str(text).strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError("expected true or false")
    return value in ("1", "true", "yes")


def int_list(text) -> list[int]:
    """Return comma-separated integers (``"1,64"``) as a list, else raise ValueError."""
    values = [int(v) for v in str(text).split(",") if v.strip()]
    if not values:
        raise ValueError("expected comma-separated integers such as 1,64")
    return values


@dataclass(frozen=True)
class Option:
    """A scenario option set with ``--set name=value``: its help, default, converter, and least value or choices."""

    name: str
    help: str
    default: object = None
    type: Callable = str
    minimum: float | None = None  # least accepted value (of every element, for int_list)
    choices: tuple = ()

    def accepted(self) -> str:
        """Return what the option accepts, as messages say it."""
        if self.choices:
            return f"one of {', '.join(map(str, self.choices))}"
        kind = {int: "an integer", float: "a number", boolean: "true or false",
                int_list: "comma-separated integers"}.get(self.type, "text")
        return kind + ("" if self.minimum is None else f" >= {self.minimum:g}")

    def parse(self, value):
        """Return ``value`` converted and checked, or raise BadInput naming the option, the value and what is accepted."""
        if value is None:
            return None
        if self.type in (int, float):
            return bounded(f"--set {self.name}", value, self.type, self.minimum)
        try:
            out = self.type(value)
        except (TypeError, ValueError):
            raise BadInput(f"--set {self.name}={value!r}: expected {self.accepted()}") from None
        too_small = self.minimum is not None and min(out if isinstance(out, list) else [out]) < self.minimum
        if too_small or (self.choices and out not in self.choices):
            raise BadInput(f"--set {self.name}={value!r}: expected {self.accepted()}")
        return out


def resolve_options(options: tuple[Option, ...], overrides: dict) -> dict:
    """Return every declared option's value (the ``--set`` value, else its default), converted and range-checked."""
    return {o.name: o.parse(o.default if overrides.get(o.name) is None else overrides[o.name]) for o in options}


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
    check: Callable[[RunContext], None] | None = None  # before any device is set up: raises BadInput on bad options


def scenario(name: str, help: str, options: tuple[Option, ...] = (), multi_device: bool = False,
             prepare: Callable[[RunContext], dict] | None = None, check: Callable[[RunContext], None] | None = None):
    """Declare the decorated ``run(ctx)`` as scenario ``name`` (``harness.scenarios.registry`` registers it)."""

    def deco(fn):
        fn.scenario = Scenario(name, help, fn, tuple(options), multi_device, prepare, check)
        return fn

    return deco
