"""Drop-in export entry point: ``python -m pgan_ref.export --checkpoint_g AvG.ckpt`` writes ``PGAN.mindir``.

Inputs are latents (batch_size, latent) float32 and a scalar alpha float32; the output is
(batch_size, 3, scale, scale), as in the ModelZoo export (fixed shapes).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_common import add_generator_args, load_generator


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the export CLI."""
    p = argparse.ArgumentParser(prog="python -m pgan_ref.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_generator_args(p)
    p.add_argument("--batch_size", type=int, default=64, help="fixed batch size of the exported graph (default 64)")
    p.add_argument("--file_name", default="PGAN", help="output name without extension (default PGAN)")
    p.add_argument("--file_format", default="MINDIR", choices=["MINDIR"],
                   help="export format (only MINDIR; ONNX fails on this network's ops)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Export the generator; return 0 on success, 2 on a configuration or checkpoint error."""
    args = build_parser().parse_args(argv)
    name = args.file_name[:-len(".mindir")] if args.file_name.lower().endswith(".mindir") else args.file_name
    g = load_generator(args, {"batch_size": (1, None)}, output=Path(name + ".mindir"))
    if g is None:
        return 2
    from .generator_io import export_mindir

    info = export_mindir(g, args.batch_size, Path(name + ".mindir"))
    print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in info.items()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
