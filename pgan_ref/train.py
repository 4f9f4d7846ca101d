"""Drop-in training entry point: ``python -m pgan_ref.train --train_data_path DIR --config_path CFG``."""
from __future__ import annotations

import argparse
import logging
import sys

from .cli_common import add_config_args, check_ranges, config_from_args
from .config import ConfigError
from .data import DataError
from .errors import CheckpointError
from .interrupt import EXIT_INTERRUPTED, terminate_as_interrupt


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the train CLI."""
    p = argparse.ArgumentParser(prog="python -m pgan_ref.train", description=__doc__)
    p.add_argument("--train_data_path", required=True,
                   help="CelebA img_align_celeba/ folder (or its parent), or a synthetic folder from "
                        "`pgan-harness data synthetic DIR`")
    add_config_args(p)
    p.add_argument("--ckpt_save_dir", default=None,
                   help="checkpoint root; {dir}/{scale}/{G,AvG,D}_{i}.ckpt (default: config ckpt_save_dir)")
    p.add_argument("--seed", type=int, default=None, help="run seed (default: config seed); recorded in state")
    p.add_argument("--no_progress", action="store_true", help="disable the progress bar")
    p.add_argument("--stop_after", type=int, default=None,
                   help="stop after N iterations in total, as if interrupted (for resume tests)")
    return p


def resume_hint(ckpt_dir, scales: list[int], rank: int = 0) -> str:
    """Return where the same command would resume: the newest checkpoint set under ``ckpt_dir``, if any."""
    from .checkpoints import checkpoint_sets

    sets = checkpoint_sets(ckpt_dir, scales, rank)
    if not sets:
        return f"no checkpoint saved yet under {ckpt_dir}: the same command starts afresh"
    return f"the same command resumes from the newest checkpoint set ({sets[0][1]})"


def main(argv: list[str] | None = None) -> int:
    """Train; return 0 on success, 2 on a configuration or data error."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        check_ranges(args, {"stop_after": (1, None)})
        cfg = config_from_args(args)
        if args.seed is not None:
            cfg.seed = args.seed
            cfg.validate()
        from .data import list_images

        list_images(args.train_data_path)  # fail before importing/compiling anything heavy
        from .device import apply_precision, setup

        rank, group = setup(args.device_target, args.device_id)  # PGAN_CPU_THREADS may be a ConfigError
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .trainer import Trainer

    apply_precision(cfg, args.device_target)
    ckpt_dir = args.ckpt_save_dir or cfg.ckpt_save_dir
    try:
        with terminate_as_interrupt():
            trainer = Trainer(cfg, args.train_data_path, ckpt_dir, rank=rank, group_size=group,
                              progress=not args.no_progress, stop_after=args.stop_after)
            summary = trainer.run()
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: {resume_hint(ckpt_dir, cfg.scales, rank)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    print(f"training {'complete' if summary['completed'] else 'stopped'}: {trainer.done_steps} iterations "
          f"this run, checkpoints under {trainer.ckpt_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
