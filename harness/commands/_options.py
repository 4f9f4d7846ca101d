"""Option groups shared by the ``pgan-harness`` commands that run scenarios (declared once, as asv's common_args)."""
from __future__ import annotations

import argparse

from pgan_ref.config import VARIANTS, list_presets
from pgan_ref.device import DEVICES

from harness.errors import at_least


def add_run_options(p: argparse.ArgumentParser, *, overrides: bool = True) -> None:
    """Add --preset / --device / --devices / --variant (and --set unless ``overrides`` is false)."""
    g = p.add_argument_group("what to run")
    g.add_argument("--preset", default="cpu-smoke", choices=list_presets(),
                   help="training configuration preset (default cpu-smoke; modelzoo-910 is the card's)")
    g.add_argument("--device", default="CPU", choices=DEVICES, help="device kind (default CPU)")
    g.add_argument("--devices", type=at_least(1), default=1,
                   help="data-parallel devices in all; >1 launches that many msrun workers (default 1)")
    g.add_argument("--variant", default="reference", choices=sorted(VARIANTS),
                   help="model behaviour: reference (paper) or modelzoo (all ModelZoo deviations on)")
    if overrides:
        g.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                       help="override a config key or a scenario option (repeatable), e.g. --set iters=20 "
                            "--set deviations.d2_maxpool_downsample=true")
