"""Image sources, fingerprints, the manifest comparison and the real-feature cache (no network weights needed)."""
import numpy as np
import pytest
from PIL import Image

from harness.quality.fid.inputs import FolderSource, InputError, open_source
from harness.quality.fid.protocol import ManifestMismatch, compare_results, make_manifest, real_features


def manifest(**changes):
    base = dict(weights_sha256="ab" * 32, preprocess="pytorch-fid", n_real=100, n_fake=100,
                real_fingerprint="cd" * 32, seed=0)
    return make_manifest(**{**base, **changes})


def test_compare_results_refuses_different_protocols():
    a = {"fid": 10.0, "manifest": manifest()}
    b = {"fid": 12.5, "manifest": manifest()}  # other generated images, same protocol
    assert compare_results(a, b) == pytest.approx(2.5)
    c = {"fid": 9.0, "manifest": manifest(preprocess="clean", n_fake=50)}
    with pytest.raises(ManifestMismatch) as err:
        compare_results(a, c)
    assert "preprocess: 'pytorch-fid' vs 'clean'" in str(err.value) and "n_fake: 100 vs 50" in str(err.value)
    assert "weights_sha256" not in str(err.value)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("b.png", "a.jpg", "c.PNG"):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / name)
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "d.png")  # grey
    Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(tmp_path / "e.png")  # another size
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_source_sorted_rgb_and_split_by_size(folder):
    src = open_source(folder)
    assert isinstance(src, FolderSource)
    assert [p.name for p in src.files] == ["a.jpg", "b.png", "c.PNG", "d.png", "e.png"]
    assert [b.shape for b in src.batches(3)] == [(3, 8, 8, 3), (1, 8, 8, 3), (1, 4, 4, 3)]
    assert open_source(folder, n=2).count == 2
    assert open_source(folder).fingerprint() == src.fingerprint() != open_source(folder, n=2).fingerprint()


def test_folder_fingerprint_sees_content(folder):
    before = open_source(folder).fingerprint()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "b.png")
    assert open_source(folder).fingerprint() != before


def test_source_errors_name_the_problem(tmp_path, folder):
    with pytest.raises(InputError, match="does not exist"):
        open_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        open_source(tmp_path / "empty")
    (folder / "zz.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(InputError, match="zz.png"):
        list(open_source(folder).batches(8))
    np.savez(tmp_path / "two.npz", a=np.zeros((1, 4, 4, 3)), b=np.zeros((1, 4, 4, 3)))
    with pytest.raises(InputError, match="'images'"):
        open_source(tmp_path / "two.npz")


def test_array_files_and_iterables_share_fingerprints(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", images=x.transpose(0, 3, 1, 2))
    fps = {open_source(tmp_path / "x.npy").fingerprint(), open_source(tmp_path / "x.npz").fingerprint(),
           open_source(x).fingerprint()}
    it = open_source(lambda: (x[i:i + 2] for i in range(0, 5, 2)), n=4)
    assert it.fingerprint() is None
    assert [len(b) for b in it.batches(3)] == [3, 1] and it.count == 4
    assert len(fps) == 1 and it.fingerprint() == open_source(x[:4]).fingerprint()


class CountingExtractor:
    """A stand-in for the Inception: features are per-image means, and calls are counted."""

    weights_sha256 = "12" * 32

    def __init__(self):
        self.calls = 0

    def extract(self, source, preprocess, batch_size, progress):
        self.calls += 1
        return np.concatenate([b.reshape(len(b), -1).mean(1, keepdims=True) for b in source.batches(batch_size)])


def test_real_features_are_cached_per_set_and_protocol(tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path))
    x = np.random.default_rng(2).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    ext = CountingExtractor()
    first = real_features(open_source(x), ext, "pytorch-fid", progress=False)
    np.testing.assert_array_equal(real_features(open_source(x), ext, "pytorch-fid", progress=False), first)
    assert ext.calls == 1
    real_features(open_source(x), ext, "clean", progress=False)
    real_features(open_source(x[:5]), ext, "pytorch-fid", progress=False)
    real_features(open_source(x), ext, "pytorch-fid", use_cache=False, progress=False)
    assert ext.calls == 4
    assert len(list((tmp_path / "fid-real").glob("*.npz"))) == 3
