"""Crafted torch files cannot read outside their storages; a user's .npz weights are checked at --prepare-weights."""
import collections
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from harness.quality.fid import weights
from harness.quality.fid.torchzip import load_pickle
from tests.test_fid_weights import fake_torch, state_dict  # noqa: F401  (fake_torch is a fixture)
from tests.test_train_cli_errors import REPO, assert_one_line


def write_crafted(path, storage: np.ndarray, offset, size, stride, fake_torch, numel=None):  # noqa: F811
    """Write a zip torch file whose one tensor claims ``offset``/``size``/``stride`` over ``storage``."""
    rebuild, storages = fake_torch

    class Storage:
        pass

    class Tensor:
        def __reduce__(self):
            return rebuild, (Storage(), offset, size, stride, False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", storages["FloatStorage"], "0", "cpu", storage.size if numel is None else numel)
            return None

    with zipfile.ZipFile(path, "w") as z:
        with z.open("archive/data.pkl", "w") as f:
            Pickler(f, protocol=2).dump(collections.OrderedDict(x=Tensor()))
        z.writestr("archive/data/0", storage.tobytes())


@pytest.mark.parametrize("offset, size, stride, numel, message", [
    (0, (1000, 1000), (1000, 1), None, "reads element 999999 of a storage of 4"),
    (3, (2,), (1,), None, "reads element 4 of a storage of 4"),
    (0, (2, 2), (-1, 1), None, "malformed tensor"),
    (-1, (2,), (1,), None, "malformed tensor"),
    (0, (2,), (1, 1), None, "malformed tensor"),
    (0, (2,), (1,), 10**12, "holds 4 elements, its header says 1000000000000"),
])
def test_crafted_tensor_cannot_read_outside_its_storage(tmp_path, fake_torch, offset, size, stride, numel,  # noqa: F811
                                                       message):
    write_crafted(tmp_path / "x.pth", np.arange(4, dtype=np.float32), offset, size, stride, fake_torch, numel)
    with pytest.raises(pickle.UnpicklingError, match=message):
        load_pickle(tmp_path / "x.pth")


def test_crafted_file_with_the_trusted_hash_is_a_weights_error(tmp_path, monkeypatch, fake_torch):  # noqa: F811
    write_crafted(tmp_path / "x.pth", np.arange(4, dtype=np.float32), 0, (9,), (1,), fake_torch)
    monkeypatch.setattr(weights, "PTH_SHA256", weights.sha256_file(tmp_path / "x.pth"))
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(weights.WeightsError, match="cannot be read as a PyTorch file"):
        weights.prepare_weights(tmp_path / "x.pth")


def prepare_cli(npz) -> subprocess.CompletedProcess:
    """Run ``pgan-harness fid --prepare-weights --weights NPZ``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "harness", "fid", "--prepare-weights", "--weights", str(npz)],
                          env=env, capture_output=True, text=True, timeout=300)


def test_user_npz_weights_are_checked_at_prepare(tmp_path):
    params = {k: v for k, v in state_dict().items() if ".bn.num_batches" not in k and not k.startswith("fc.")}
    np.savez(tmp_path / "good.npz", **params)
    assert weights.load_weights(tmp_path / "good.npz")[1] == weights.sha256_file(tmp_path / "good.npz")
    np.savez(tmp_path / "renamed.npz", **{k.replace("conv.weight", "weight"): v for k, v in params.items()})
    assert_one_line(prepare_cli(tmp_path / "renamed.npz"), f"{tmp_path / 'renamed.npz'} lacks Conv2d_1a_3x3.conv.weight")
    bad_shape = dict(params, **{"Mixed_5b.branch1x1.bn.running_var": np.ones(7, np.float32)})
    np.savez(tmp_path / "shape.npz", **bad_shape)
    assert_one_line(prepare_cli(tmp_path / "shape.npz"), "layer Mixed_5b.branch1x1 has inconsistent shapes")
