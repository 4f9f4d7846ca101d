"""``pgan-harness run SCENARIO``: run a registered scenario on 1 or N devices and append its records."""
from __future__ import annotations

import argparse
import sys

from pgan_ref.cli_common import parse_sets
from pgan_ref.config import ConfigError

from harness.commands._options import add_run_options
from harness.errors import BadInput, at_least, writable
from harness.impls.registry import IMPLS
from harness.impls.names import OURS
from harness.scenarios import registry


def register(sub) -> None:
    """Add the ``run`` subcommand."""
    lines = []
    for s in registry.SCENARIOS.values():
        opts = "; ".join(f"{o.name}: {o.help} (default {o.default})" for o in s.options)
        lines.append(f"  {s.name:16s} {s.help}" + (f"\n  {'':16s} --set keys: {opts}" if opts else ""))
    p = sub.add_parser("run", help="run a scenario and append its records under --out",
                       description="Run a scenario; records go to OUT/records.jsonl, events to OUT/events-*.log."
                                   "\n\nscenarios:\n" + "\n".join(lines),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=sorted(registry.SCENARIOS), help="scenario to run")
    add_run_options(p)
    p.add_argument("--impl", choices=sorted(IMPLS), default=None,
                   help="implementation step-time times (same as --set impl=NAME): "
                        + "; ".join(f"{name}: {i.help}" for name, i in IMPLS.items()) + f" (default {OURS})")
    p.add_argument("--out", default="results", help="results directory (default ./results)")
    p.add_argument("--seed", type=at_least(0), default=None, help="run seed (default: a fresh random seed, logged)")
    multi = p.add_argument_group("multi-host (msrun)", "span several machines: run the same command on each "
                                 "host with its --node-rank; --devices counts devices on all hosts")
    multi.add_argument("--node-rank", type=at_least(0), default=0, help="this host's index (0 hosts the scheduler)")
    multi.add_argument("--master-addr", default="127.0.0.1", help="address of host 0 (default 127.0.0.1)")
    multi.add_argument("--master-port", type=at_least(1), default=None,
                       help="scheduler port (default: a free port; required on hosts other than 0)")
    multi.add_argument("--local-devices", type=at_least(1), default=None,
                       help="devices on this host (default: all --devices)")
    multi.add_argument("--timeout", type=at_least(0, float), default=3600.0, help="fail the run after this many seconds")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run the scenario; return 0, or 2 on a configuration/usage error, 1 when the run failed."""
    from harness.runs.launch import LaunchError
    from harness.runs.runner import Topology, run_scenario

    try:
        out = run_scenario(args.scenario, writable("--out", args.out, folder=True), args.preset, args.device,
                           args.devices, args.variant, with_impl(args.scenario, parse_sets(args.set), args.impl),
                           seed=args.seed,
                           topology=Topology(args.node_rank, args.master_addr, args.master_port,
                                             args.local_devices, args.timeout))
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except LaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"records appended to {out / 'records.jsonl'}")
    return 0


def with_impl(scenario: str, overrides: dict, impl: str | None) -> dict:
    """Return ``overrides`` with ``--impl`` as the scenario's ``impl`` option, or raise BadInput where it has none."""
    if impl is None:
        return overrides
    if "impl" not in {o.name for o in registry.get(scenario).options}:
        raise BadInput(f"--impl {impl}: scenario {scenario} times no implementations (only step-time takes --impl)")
    return {**overrides, "impl": impl}
