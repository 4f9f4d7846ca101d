"""MindIR inference: export a generator, detect the available runtimes, and load/run a MindIR file.

Runtimes:
- ``mindspore-graphcell``: ``mindspore.load`` + ``nn.GraphCell`` (every device MindSpore runs on).
- ``mindspore-lite``: MindSpore Lite (``import mindspore_lite``), CPU or Ascend backend. PyPI only has
  2.0.0 for Python 3.7, which refuses MindIR written by MindSpore 2.10, so on a plain CPU machine it is
  not available; on Ascend it ships with the Ascend software stack.
``auto`` picks Lite on Ascend when it imports, GraphCell otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pgan_ref.generator_io import export_mindir as _export

GRAPHCELL = "mindspore-graphcell"
LITE = "mindspore-lite"
RUNTIMES = ("auto", GRAPHCELL, LITE)


class InferenceError(RuntimeError):
    """A MindIR file or runtime problem; the message says what is wrong and what to do."""


def export_mindir(generator, batch_size: int, path: str | Path) -> dict:
    """Export ``generator`` at a fixed batch size, atomically; return dict(path, bytes, sha256, batch_size, inputs)."""
    return _export(generator, batch_size, path)


def lite_status() -> tuple[bool, str]:
    """Return (available, reason): whether ``mindspore_lite`` imports here, and its version or why not."""
    try:
        import mindspore_lite as mslite
    except Exception as e:  # ImportError, or a broken native library
        return False, (f"mindspore_lite is not importable ({type(e).__name__}: {e}); PyPI only has 2.0.0 for "
                       f"Python 3.7, which refuses MindIR from MindSpore 2.10 - it ships with the Ascend stack")
    return True, f"mindspore_lite {getattr(mslite, '__version__', '?')}"


def available_runtimes() -> dict[str, str]:
    """Return ``{runtime name: why it is or is not available}`` for the concrete runtimes."""
    ok, why = lite_status()
    return {GRAPHCELL: "available (mindspore.load + nn.GraphCell)",
            LITE: ("available: " if ok else "unavailable: ") + why}


def resolve_runtime(runtime: str = "auto", device: str | None = None) -> str:
    """Return the concrete runtime name for ``runtime`` on ``device``, or raise InferenceError when it is unusable."""
    if runtime not in RUNTIMES:
        raise InferenceError(f"unsupported runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if device is None:
        device = _current_device()
    if runtime == "auto":
        return LITE if device == "Ascend" and lite_status()[0] else GRAPHCELL
    if runtime == LITE:
        ok, why = lite_status()
        if not ok:
            raise InferenceError(f"runtime {LITE} is not available on this machine: {why}; use {GRAPHCELL}")
    return runtime


def _current_device() -> str:
    try:
        import mindspore as ms

        return ms.get_context("device_target")
    except Exception:  # pragma: no cover - context not readable
        return "CPU"


def read_mindir_inputs(path: str | Path) -> list[dict]:
    """Return the inputs declared in a MindIR file (``[{"name", "shape", "dtype"}]``), or raise InferenceError."""
    path = Path(path)
    if not path.is_file():
        raise InferenceError(f"MindIR file {path} does not exist: export it first (python -m pgan_ref.export)")
    from google.protobuf.message import DecodeError
    from mindspore.train import mind_ir_pb2

    model = mind_ir_pb2.ModelProto()
    try:
        model.ParseFromString(path.read_bytes())
    except (DecodeError, ValueError) as e:
        raise InferenceError(f"MindIR file {path} is corrupt or truncated ({e}): re-export it") from e
    if not model.HasField("graph") or not model.graph.input:
        raise InferenceError(f"MindIR file {path} is corrupt or not a MindIR model (no graph inputs): re-export it")
    names = mind_ir_pb2.TensorProto.DataType
    dtypes = {"float": "float32", "float16": "float16", "double": "float64", "int32": "int32", "int64": "int64"}
    out = []
    for inp in model.graph.input:
        t = inp.tensor[0] if inp.tensor else None
        out.append({"name": inp.name.rsplit(":", 1)[-1],
                    "shape": [int(d) for d in t.dims] if t is not None else None,
                    "dtype": None if t is None else dtypes.get(names.Name(t.data_type).lower(),
                                                                names.Name(t.data_type).lower())})
    return out


@dataclass
class Runtime:
    """A loaded MindIR generator: ``runtime(latents, alpha) -> images`` (NCHW float32 numpy)."""

    name: str
    path: Path
    inputs: list[dict]
    _run: Callable[[np.ndarray, np.float32], np.ndarray] = field(repr=False)
    version: str | None = None

    @property
    def batch_size(self) -> int:
        """Return the fixed batch size the MindIR was exported with."""
        return self.inputs[0]["shape"][0]

    def check(self, latents: np.ndarray) -> np.ndarray:
        """Return ``latents`` as float32 after checking its shape against the exported one (InferenceError if not)."""
        latents = np.asarray(latents, dtype=np.float32)
        expected = self.inputs[0]["shape"]
        if expected is not None and list(latents.shape) != list(expected):
            raise InferenceError(f"{self.path.name} was exported for latents of shape {tuple(expected)} "
                                 f"(fixed batch size), got {tuple(latents.shape)}: re-export with "
                                 f"--batch_size {latents.shape[0] if latents.ndim else '?'} or pass "
                                 f"{expected[0]} latents")
        return latents

    def __call__(self, latents: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        """Return the generated images for ``latents`` (checked against the exported shape first)."""
        return self._run(self.check(latents), np.float32(alpha))


def _load_graphcell(path: Path, inputs: list[dict]) -> Runtime:
    import mindspore as ms
    from mindspore import Tensor, nn

    try:
        cell = nn.GraphCell(ms.load(str(path)))
    except (RuntimeError, ValueError) as e:
        raise InferenceError(f"MindIR file {path} could not be loaded by MindSpore "
                             f"({str(e).strip().splitlines()[0]}): the file is corrupt or truncated, "
                             f"re-export it") from e

    def run(z: np.ndarray, alpha: np.float32) -> np.ndarray:
        return cell(Tensor(z), Tensor(alpha)).asnumpy()

    return Runtime(GRAPHCELL, path, inputs, run, ms.__version__)


def _load_lite(path: Path, inputs: list[dict], device: str) -> Runtime:
    import mindspore_lite as mslite

    context = mslite.Context()
    context.target = ["ascend"] if device == "Ascend" else ["cpu"]
    model = mslite.Model()
    try:
        model.build_from_file(str(path), mslite.ModelType.MINDIR, context)
    except Exception as e:  # Lite raises RuntimeError with the native status text
        raise InferenceError(f"MindSpore Lite could not load {path} ({str(e).strip().splitlines()[0]}): the file "
                             f"is corrupt or was written by a newer MindSpore than this Lite supports") from e

    def run(z: np.ndarray, alpha: np.float32) -> np.ndarray:
        ins = model.get_inputs()
        ins[0].set_data_from_numpy(z)
        ins[1].set_data_from_numpy(np.asarray(alpha, dtype=np.float32))
        return model.predict(ins)[0].get_data_to_numpy()

    return Runtime(LITE, path, inputs, run, getattr(mslite, "__version__", None))


def load_runtime(path: str | Path, runtime: str = "auto", device: str | None = None) -> Runtime:
    """Return a Runtime serving the MindIR ``path`` with ``runtime`` (auto, mindspore-graphcell, mindspore-lite)."""
    if runtime not in RUNTIMES:
        raise InferenceError(f"unsupported runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    path = Path(path)
    inputs = read_mindir_inputs(path)
    device = device or _current_device()
    name = resolve_runtime(runtime, device)
    if name == LITE:
        return _load_lite(path, inputs, device)
    return _load_graphcell(path, inputs)
