"""Argument helpers shared by the drop-in ``train`` / ``eval`` / ``export`` entry points."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .config import VARIANTS, ConfigError, list_presets, load_config
from .device import DEVICES
from .fileio import unwritable_reason


def add_config_args(p: argparse.ArgumentParser) -> None:
    """Add --config_path / --preset / --variant / --set / --device_target / --device_id."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config_path", help="ModelZoo-style YAML config (e.g. 910_config.yaml); unknown keys "
                                           "are warned about and ignored")
    src.add_argument("--preset", choices=list_presets(), help="a bundled preset instead of a YAML file "
                                                              "(default: cpu-smoke when no --config_path)")
    p.add_argument("--variant", choices=sorted(VARIANTS), default=None,
                   help="reference = paper/pytorch_GAN_zoo behaviour (default); modelzoo = every ModelZoo "
                        "deviation switch on (toggle single ones with --set deviations.NAME=true/false)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="override a config key (repeatable), e.g. --set lr=0.002 --set deviations.d1_no_minibatch_stddev=true")
    p.add_argument("--device_target", choices=DEVICES, default="CPU", help="device to run on (default CPU)")
    p.add_argument("--device_id", type=int, default=None, help="device index (default: $DEVICE_ID or 0)")


def parse_sets(items: list[str]) -> dict:
    """Return ``{key: value}`` from ``KEY=VALUE`` strings, or raise ConfigError naming the bad one."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def config_from_args(args):
    """Return the PGANConfig selected by parsed arguments."""
    preset = None if args.config_path else (args.preset or "cpu-smoke")
    return load_config(args.config_path, preset=preset, variant=args.variant, overrides=parse_sets(args.set))


def add_generator_args(p: argparse.ArgumentParser) -> None:
    """Add --checkpoint_g, the config arguments and --scale (for the eval and export entry points)."""
    p.add_argument("--checkpoint_g", required=True, help="averaged-generator checkpoint, e.g. ckpt/128/AvG_96000.ckpt")
    add_config_args(p)
    p.add_argument("--scale", type=int, default=None,
                   help="resolution of the checkpoint in pixels (default: inferred from its tensor shapes); "
                        "replaces the ModelZoo's 'edit eval.py' step and is checked against the checkpoint")


def generator_from_args(args):
    """Return the generator of ``--checkpoint_g`` on the chosen device, shapes checked against config/--scale."""
    from .generator_io import build_generator, ensure_device

    cfg = config_from_args(args) if (args.config_path or args.preset) else None
    ensure_device(args.device_target, args.device_id)
    return build_generator(args.checkpoint_g, cfg=cfg, scale=args.scale,
                           lrelu_torgb=None if cfg else args.variant == "modelzoo")


def check_ranges(args, bounds: dict[str, tuple[float, float | None]]) -> None:
    """Raise ConfigError naming the first option of ``bounds`` (name -> (least, greatest or None)) whose value is
    out of its range or not finite, and the range accepted; ``--device_id`` must be >= 0 wherever it is given."""
    for name, (least, greatest) in {**bounds, "device_id": (0, None)}.items():
        value = getattr(args, name, None)
        if value is None or (math.isfinite(value) and value >= least and (greatest is None or value <= greatest)):
            continue
        kind = "an integer" if isinstance(value, int) else "a number"
        accepted = f"{kind} >= {least:g}" if greatest is None else f"{kind} in [{least:g}, {greatest:g}]"
        raise ConfigError(f"--{name} {value} is not accepted: expected {accepted}")


def load_generator(args, bounds: dict[str, tuple[float, float | None]], output: str | Path | None = None):
    """Return the generator of ``generator_from_args``, or None after printing what was wrong.

    ``bounds`` gives the numeric options' accepted ranges (``check_ranges``) and ``output`` the file the CLI will
    write; a value out of range, an output that cannot be created, a bad config or an unusable checkpoint is
    reported on stderr in one line (the CLIs then exit 2), before the checkpoint is loaded.
    """
    from .errors import CheckpointError

    try:
        check_ranges(args, bounds)
        problem = unwritable_reason(output) if output is not None else None
        if problem:
            raise ConfigError(f"cannot write {output}: {problem}: choose another --output_dir / --file_name")
        return generator_from_args(args)
    except (ConfigError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return None
