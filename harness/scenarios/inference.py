"""MindIR inference: export a generator, detect the available runtimes, read what a MindIR file declares, and
load/run it (one array per declared input; example inputs built from the declarations).

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
PROTO_DTYPES = {"float": "float32", "double": "float64"}  # MindIR TensorProto names that are not numpy's


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


def read_mindir(path: str | Path) -> dict[str, list[dict]]:
    """Return the inputs and outputs a MindIR file declares (``{"inputs": [...], "outputs": [...]}``, each
    ``{"name", "shape", "dtype"}``; a dynamic dimension is -1, an undeclared shape None), or raise InferenceError."""
    path = Path(path)
    if not path.exists():
        raise InferenceError(f"MindIR file {path} does not exist: give the path of a .mindir file "
                             f"(python -m pgan_ref.export writes one)")
    if not path.is_file():
        raise InferenceError(f"MindIR file {path} is not a file: give the path of a .mindir file")
    from google.protobuf.message import DecodeError
    from mindspore.train import mind_ir_pb2

    model = mind_ir_pb2.ModelProto()
    try:
        model.ParseFromString(path.read_bytes())
    except OSError as e:
        raise InferenceError(f"MindIR file {path} cannot be read ({e.strerror or e}): check its permissions") from e
    except (DecodeError, ValueError) as e:
        raise InferenceError(f"MindIR file {path} is not a MindIR model, or is corrupt or truncated ({e}): give a "
                             f"file written by mindspore.export, or re-export it") from e
    if not model.HasField("graph") or not model.graph.input:
        raise InferenceError(f"MindIR file {path} is corrupt or not a MindIR model (no graph inputs): re-export it")
    names = mind_ir_pb2.TensorProto.DataType

    def values(infos) -> list[dict]:
        out = []
        for info in infos:
            t = info.tensor[0] if info.tensor else None
            dtype = None if t is None else names.Name(t.data_type).lower()
            out.append({"name": info.name.rsplit(":", 1)[-1], "shape": None if t is None else [int(d) for d in t.dims],
                        "dtype": PROTO_DTYPES.get(dtype, dtype)})
        return out

    return {"inputs": values(model.graph.input), "outputs": values(model.graph.output)}


def read_mindir_inputs(path: str | Path) -> list[dict]:
    """Return the inputs declared in a MindIR file (``[{"name", "shape", "dtype"}]``), or raise InferenceError."""
    return read_mindir(path)["inputs"]


def example_inputs(inputs: list[dict], shapes: list[list[int]], rng: np.random.Generator) -> list[np.ndarray]:
    """Return one array per declared input at the given concrete shapes: floating dtypes N(0, 1) drawn from ``rng``
    in input order, integer and boolean dtypes zeros; InferenceError for a dtype numpy cannot build (bfloat16...)."""
    arrays = []
    for inp, shape in zip(inputs, shapes):
        try:
            dtype = np.dtype(inp["dtype"])
        except TypeError:
            raise InferenceError(f"input {inp['name']!r} has dtype {inp['dtype']}, which numpy cannot build; "
                                 f"accepted: floating, integer and boolean inputs") from None
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind in "iub":
            arrays.append(np.zeros(shape, dtype))
        else:
            raise InferenceError(f"input {inp['name']!r} has dtype {inp['dtype']}; accepted: floating, integer and "
                                 f"boolean inputs")
    return arrays


@dataclass
class Runtime:
    """A loaded MindIR model: ``runtime.run(*arrays) -> [outputs]``; ``runtime(latents, alpha) -> images`` for a
    generator (NCHW float32 numpy)."""

    name: str
    path: Path
    inputs: list[dict]
    _run: Callable[..., list[np.ndarray]] = field(repr=False)
    version: str | None = None

    @property
    def batch_size(self) -> int:
        """Return the fixed batch size the MindIR was exported with."""
        return self.inputs[0]["shape"][0]

    def check(self, arrays) -> list[np.ndarray]:
        """Return ``arrays`` as the declared dtypes after checking their count and shapes against the declared ones
        (-1: any size), or raise InferenceError."""
        if len(arrays) != len(self.inputs):
            raise InferenceError(f"{self.path.name} declares {len(self.inputs)} inputs "
                                 f"({', '.join(i['name'] for i in self.inputs)}), got {len(arrays)}")
        out = []
        for inp, a in zip(self.inputs, arrays):
            a = np.asarray(a, dtype=inp["dtype"])
            expected = inp["shape"]
            if expected is not None and (a.ndim != len(expected)
                                         or any(e not in (-1, n) for e, n in zip(expected, a.shape))):
                raise InferenceError(f"{self.path.name} declares input {inp['name']!r} of shape {tuple(expected)}, "
                                     f"got {tuple(a.shape)}: a fixed batch size is set at export (re-export with "
                                     f"--batch_size {a.shape[0] if a.ndim else '?'}) or pass arrays of that shape")
            out.append(a)
        return out

    def run(self, *arrays) -> list[np.ndarray]:
        """Return the model's outputs (numpy, in order) for one array per declared input (checked first)."""
        return self._run(*self.check(arrays))

    def __call__(self, latents: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        """Return a generator's images for ``latents`` and ``alpha`` (its first output)."""
        return self.run(latents, np.float32(alpha))[0]


def _outputs(out) -> list[np.ndarray]:
    """Return a GraphCell's result (one Tensor or a tuple of them) as a list of numpy arrays."""
    return [o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]


def _load_graphcell(path: Path, inputs: list[dict]) -> Runtime:
    import mindspore as ms
    from mindspore import Tensor, nn

    try:
        cell = nn.GraphCell(ms.load(str(path)))
    except (RuntimeError, ValueError) as e:
        raise InferenceError(f"MindIR file {path} could not be loaded by MindSpore "
                             f"({str(e).strip().splitlines()[0]}): the file is corrupt or truncated, "
                             f"re-export it") from e

    def run(*arrays: np.ndarray) -> list[np.ndarray]:
        return _outputs(cell(*map(Tensor, arrays)))

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

    def run(*arrays: np.ndarray) -> list[np.ndarray]:
        ins = model.get_inputs()
        shapes = [list(a.shape) for a in arrays]
        if [list(t.shape) for t in ins] != shapes:  # a dynamic dimension: give the concrete shapes first
            model.resize(ins, shapes)
        for t, a in zip(ins, arrays):
            t.set_data_from_numpy(a)
        return [o.get_data_to_numpy() for o in model.predict(ins)]

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
