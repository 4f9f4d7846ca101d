"""Read tensors from PyTorch files (zip state dicts, TorchScript, legacy torch.save): numpy and a restricted unpickler."""
from __future__ import annotations

import collections
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
                   "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class TorchModule:
    """An inert stand-in for a pickled TorchScript module: its attributes land in ``__dict__``, no code runs."""

    def __setstate__(self, state):
        self.__dict__.update(state)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    """Return the tensor viewed from ``storage``, after checking that every element it reads lies inside it."""
    size, stride = tuple(size) if isinstance(size, (list, tuple)) else None, \
        tuple(stride) if isinstance(stride, (list, tuple)) else None
    if not isinstance(storage, np.ndarray) or storage.ndim != 1 or not _is_count(offset) or size is None \
            or stride is None or len(size) != len(stride) or not all(map(_is_count, size + stride)):
        raise pickle.UnpicklingError(f"malformed tensor: offset {offset!r}, size {size!r}, stride {stride!r}")
    last = offset + sum((n - 1) * st for n, st in zip(size, stride))  # the farthest element read
    if all(size) and last >= len(storage):
        raise pickle.UnpicklingError(f"tensor of size {size}, stride {stride}, offset {offset} reads element "
                                     f"{last} of a storage of {len(storage)}")
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                           strides=tuple(s * item for s in stride)).copy()


class _Unpickler(pickle.Unpickler):
    """Allows only tensor rebuilding, storages, OrderedDict, int lists and inert TorchScript module classes."""

    def __init__(self, file, storage=None):
        super().__init__(file)
        self._storage = storage  # (key, dtype, numel) -> flat numpy array

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch.jit._pickle", "build_intlist"):
            return list
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module.startswith("__torch__."):
            return type(name, (TorchModule,), {})
        raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name} (not a tensor container)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        kind, dtype, key, _location, numel = pid[:5]
        if kind != "storage" or dtype not in _STORAGE_DTYPES.values() or self._storage is None \
                or (pid[5:] and pid[5]) or not isinstance(key, str) or not _is_count(numel):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage = self._storage(key, dtype, numel)
        if len(storage) != numel:
            raise pickle.UnpicklingError(f"storage {key!r} holds {len(storage)} elements, its header says {numel}")
        return storage


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def load_pickle(path: str | Path):
    """Return the object a torch file holds (zip ``data.pkl`` or legacy stream), tensors as numpy arrays."""
    if not zipfile.is_zipfile(path):
        return _load_legacy(path)
    with zipfile.ZipFile(path) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1), None)
        if pkl is None:
            raise ValueError(f"{path} has no <root>/data.pkl: not a PyTorch archive")
        prefix = pkl[: -len("data.pkl")]
        with archive.open(pkl) as f:
            return _Unpickler(f, lambda key, dtype, _: _frombuffer(archive.read(f"{prefix}data/{key}"), dtype)).load()


def _frombuffer(data: bytes, dtype) -> np.ndarray:
    """Return ``data`` as a flat array of ``dtype``, refusing a length that is not a whole number of elements."""
    if len(data) % np.dtype(dtype).itemsize:
        raise pickle.UnpicklingError(f"storage of {len(data)} bytes is not a whole number of {np.dtype(dtype)}")
    return np.frombuffer(data, dtype)


def _load_legacy(path: str | Path):
    """Legacy ``torch.save`` (before 1.6): magic, version, sys info, the object, storage keys, raw storages.

    The object comes before the storage bytes, so it is unpickled twice: once on placeholders to learn
    the storages' types and reach the data, then on the real storages.
    """
    with open(path, "rb") as f:
        if _Unpickler(f).load() != _LEGACY_MAGIC:
            raise ValueError(f"{path} is neither a PyTorch zip archive nor a legacy torch.save file")
        _Unpickler(f).load(), _Unpickler(f).load()  # protocol version, sys info
        start, dtypes, file_size = f.tell(), {}, os.fstat(f.fileno()).st_size

        def placeholder(key, dtype, numel):
            if numel * np.dtype(dtype).itemsize > file_size:
                raise pickle.UnpicklingError(f"storage {key!r} of {numel} elements is larger than the file")
            dtypes[key] = dtype
            return np.zeros(numel, dtype)

        _Unpickler(f, placeholder).load()
        storages = {}
        for key in _Unpickler(f).load():
            if key not in dtypes:
                raise pickle.UnpicklingError(f"storage key {key!r} is not used by the pickled object")
            numel = int.from_bytes(f.read(8), "little")
            if numel * np.dtype(dtypes[key]).itemsize > file_size - f.tell():
                raise pickle.UnpicklingError(f"storage {key!r} of {numel} elements runs past the end of the file")
            storages[key] = _frombuffer(f.read(numel * np.dtype(dtypes[key]).itemsize), dtypes[key])
        f.seek(start)
        return _Unpickler(f, lambda key, dtype, numel: storages[key]).load()


def named_tensors(obj, prefix: str = "") -> dict[str, np.ndarray]:
    """Return ``{dotted name: array}`` for every tensor reachable from a state dict or TorchScript module."""
    items = obj.items() if isinstance(obj, dict) else vars(obj).items() if isinstance(obj, TorchModule) else ()
    out: dict[str, np.ndarray] = {}
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, np.ndarray):
            out[name] = value
        else:
            out.update(named_tensors(value, name + "."))
    return out
