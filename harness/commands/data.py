"""``pgan-harness data``: prepare training data (a seeded synthetic CelebA-layout folder)."""
from __future__ import annotations

import argparse
import sys

from pgan_ref.data import DataError
from pgan_ref.synthetic import FORMATS, write_synthetic

from harness.errors import at_least


def parse_size(text: str) -> tuple[int, int]:
    """Return (width, height) from ``WxH`` text such as ``178x218``."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        message = f"size must look like 178x218 (WIDTHxHEIGHT), got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if width < 4 or height < 4:
        raise argparse.ArgumentTypeError(f"size must be at least 4x4, got {text!r}")
    return width, height


def synthetic(args: argparse.Namespace) -> int:
    """Write (or keep) the synthetic image folder; return the exit code."""
    try:
        paths = write_synthetic(args.dir, n=args.n, seed=args.seed, size=args.size, fmt=args.format)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(paths)} synthetic images in {paths[0].parent}; train with --train_data_path {args.dir}")
    return 0


def register(subparsers) -> None:
    """Add the ``data`` command and its ``synthetic`` subcommand."""
    data = subparsers.add_parser("data", help="prepare training data",
                                 description="Prepare training data for PGAN runs.")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    parser = sub.add_parser(
        "synthetic", help="write seeded face-like images in the CelebA folder layout",
        description="Write N seeded face-like images to DIR/img_align_celeba/ (same bytes for the same "
                    "seed; a complete folder with the same options is left untouched).")
    parser.add_argument("dir", metavar="DIR", help="folder to create; img_align_celeba/ is made inside it")
    parser.add_argument("--n", type=at_least(1), default=64, help="number of images, >= 1 (default: %(default)s)")
    parser.add_argument("--seed", type=at_least(0), default=0, help="random seed, >= 0 (default: %(default)s)")
    parser.add_argument("--size", type=parse_size, default=(178, 218),
                        help="image size WIDTHxHEIGHT (default: 178x218, as CelebA Align&Cropped)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="jpg",
                        help="image file format (default: %(default)s)")
    parser.set_defaults(func=synthetic)
