"""Protocol manifests name the protocol, not the data's location; saved real statistics round-trip through the CLI."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.quality.fid.protocol import ManifestMismatch, compare_results, make_manifest, manifest_sha256

from .test_fid_network import extractor  # noqa: F401  (the shared Inception, skipped without weights)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, fixtures_dir):
    """Two copies (in different places) of a 4-image real folder and a 4-image generated folder."""
    with np.load(fixtures_dir / "fid_inception_golden.npz") as z:
        imgs = z["e2e_input_uint8_64"]
    root = tmp_path_factory.mktemp("sets")
    for name, part in (("real", imgs[:4]), ("fake", imgs[4:])):
        (root / "a" / name).mkdir(parents=True)
        for i, img in enumerate(part):
            Image.fromarray(img).save(root / "a" / name / f"{i:02d}.png")
    shutil.copytree(root / "a", root / "elsewhere" / "b")
    return root / "a", root / "elsewhere" / "b"


def run_json(capsys, *argv) -> dict:
    assert main(["fid", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_manifest_is_the_same_for_copies_in_other_paths(extractor,  # noqa: F811
                                                          folders, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    a, b = folders
    ra = run_json(capsys, "--real", str(a / "real"), "--fake", str(a / "fake"))
    rb = run_json(capsys, "--real", str(b / "real"), "--fake", str(b / "fake"), "--no-cache")
    assert ra["manifest_sha256"] == rb["manifest_sha256"] == manifest_sha256(rb["manifest"])
    assert ra["manifest"] == rb["manifest"] and ra["fid"] == pytest.approx(rb["fid"], rel=1e-9)
    assert str(a) not in json.dumps(ra["manifest"]) and str(a) in ra["provenance"]["real_source"]
    assert ra["provenance"]["fake_fingerprint"] == rb["provenance"]["fake_fingerprint"]
    other_pre = run_json(capsys, "--real", str(a / "real"), "--fake", str(a / "fake"), "--preprocess", "tf1")
    other_n = run_json(capsys, "--real", str(a / "real"), "--fake", str(a / "fake"), "--n", "3")
    assert len({ra["manifest_sha256"], other_pre["manifest_sha256"], other_n["manifest_sha256"]}) == 3


def test_saved_statistics_round_trip(extractor,  # noqa: F811
                                     folders, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    a, _ = folders
    stats = tmp_path / "real_stats.npz"
    saved = run_json(capsys, "--real", str(a / "real"), "--save-stats", str(stats))
    with np.load(stats) as z:  # pytorch-fid's layout: it reads f["mu"][:], f["sigma"][:]
        assert z["mu"].shape == (2048,) and z["sigma"].shape == (2048, 2048) and int(z["n"]) == 4
    from_folder = run_json(capsys, "--real", str(a / "real"), "--fake", str(a / "fake"))
    from_stats = run_json(capsys, "--real", str(stats), "--fake", str(a / "fake"))
    assert from_stats["fid"] == from_folder["fid"]
    m = from_stats["manifest"]
    assert m["real_stats_sha256"] == saved["stats_sha256"]
    assert m["real_fingerprint"] == from_folder["manifest"]["real_fingerprint"] and m["n_real"] == 4
    # A pytorch-fid file (mu and sigma only) is accepted; its unknown fields stay None in the manifest.
    with np.load(stats) as z:
        np.savez(tmp_path / "theirs.npz", mu=z["mu"], sigma=z["sigma"])
    theirs = run_json(capsys, "--real", str(tmp_path / "theirs.npz"), "--fake", str(a / "fake"))
    assert theirs["fid"] == from_folder["fid"] and theirs["manifest"]["n_real"] is None
    # Statistics of another preprocessing, or KID from statistics, are refused with one line.
    assert main(["fid", "--real", str(stats), "--fake", str(a / "fake"), "--preprocess", "clean"]) == 2
    assert "computed with preprocess 'pytorch-fid', not 'clean'" in capsys.readouterr().err
    assert main(["fid", "--real", str(stats), "--fake", str(a / "fake"), "--kid"]) == 2
    assert "need the real images" in capsys.readouterr().err


def test_old_manifests_compare_only_with_old_ones():
    new = make_manifest(weights_sha256="ab" * 32, preprocess="pytorch-fid", n_real=10, n_fake=10,
                        real_fingerprint="cd" * 32, seed=0)
    old = {k: new[k] for k in ("extractor", "weights_sha256", "preprocess", "n_real", "n_fake", "real_fingerprint",
                               "seed")}
    old_a = {**old, "protocol_version": 1, "real_source": "folder /x", "fake_fingerprint": "1"}
    old_b = {**old, "protocol_version": 1, "real_source": "folder /y", "fake_fingerprint": "2"}
    assert compare_results({"fid": 1.0, "manifest": old_a}, {"fid": 3.0, "manifest": old_b}) == 2.0
    with pytest.raises(ManifestMismatch, match="protocol v1 manifests compare only with v1 ones"):
        compare_results({"fid": 1.0, "manifest": old_a}, {"fid": 3.0, "manifest": new})
