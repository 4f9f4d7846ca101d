"""A user's checkout of another implementation, imported from the folder the user names (nothing of it is copied here).

One ``CheckoutKind`` describes a kind of checkout (the ``--set`` key naming its folder, what it is, the files a
checkout holds, the code hashed as run, the top-level modules its import brings in); ``root`` checks the folder,
``sha256`` hashes its code and ``imported`` imports its modules with ``sys.argv``, ``sys.path`` and
``sys.modules`` restored afterwards. Used by every ``--impl`` that times a user's checkout.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from harness.errors import BadInput


@dataclass(frozen=True)
class CheckoutKind:
    """A kind of user checkout.

    ``option``: the ``--set`` key naming its folder; ``what``: what it is ('ModelZoo PGAN checkout');
    ``expected``: where to get one; ``required``: files every checkout holds; ``code``: glob patterns (under the
    root) of the code run, hashed in this order; ``packages``: the top-level modules importing it brings in
    (forgotten afterwards); ``nested``: where it sits inside a larger clone, if it may.
    """

    option: str
    what: str
    expected: str
    required: tuple[str, ...]
    code: tuple[str, ...]
    packages: tuple[str, ...]
    nested: str | None = None

    def root(self, path: str | Path) -> Path:
        """Return the checkout folder at ``path`` (itself, or ``nested`` under it), else raise BadInput naming the path
        and what a checkout holds."""
        given = Path(path).expanduser()
        if not given.is_dir():
            raise BadInput(f"--set {self.option}={path}: no such folder; expected a checkout of {self.expected}")
        root = given / self.nested if self.nested and (given / self.nested).is_dir() else given
        missing = [f for f in self.required if not (root / f).is_file()]
        if missing:
            raise BadInput(f"--set {self.option}={path}: not a {self.what} (missing {', '.join(missing)}); "
                           f"expected a checkout of {self.expected}")
        return root.resolve()

    def sha256(self, root: Path) -> str:
        """Return the sha256 of the checkout's code as run: the files ``code`` matches, by relative path and bytes."""
        h = hashlib.sha256()
        for pattern in self.code:
            for f in sorted(root.glob(pattern)):
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        return h.hexdigest()

    def _ours(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self.packages)

    @contextlib.contextmanager
    def imported(self, root: Path, module: str, argv: list[str] | None = None) -> Iterator[object]:
        """Import ``module`` from ``root`` (with ``sys.argv = argv`` when given, its prints on stderr); yield it.

        A failing import is BadInput naming the folder. Afterwards ``sys.argv``, ``sys.path`` and ``sys.modules``
        are as before: the checkout's modules are forgotten and same-named modules imported before are back, so
        another checkout can be imported later.
        """
        saved_argv, saved_path = list(sys.argv), list(sys.path)
        shadowed = {n: m for n, m in sys.modules.items() if self._ours(n)}
        for name in shadowed:
            del sys.modules[name]
        if argv is not None:
            sys.argv = argv
        sys.path.insert(0, str(root))
        try:
            with contextlib.redirect_stdout(sys.stderr):
                try:
                    loaded = importlib.import_module(module)
                except (Exception, SystemExit) as e:  # a config parser exits on bad arguments
                    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    raise BadInput(f"--set {self.option}={root}: importing its {module} failed "
                                   f"({type(e).__name__}: {first})") from e
                yield loaded
        finally:
            sys.argv, sys.path[:] = saved_argv, saved_path
            for name in [n for n in sys.modules if self._ours(n)]:
                del sys.modules[name]
            sys.modules.update(shadowed)


def missing_names(module, names: tuple[str, ...]) -> list[str]:
    """Return those of ``names`` (dotted attribute paths) that ``module`` does not have."""
    missing = []
    for dotted in names:
        obj = module
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(dotted)
    return missing
