"""Shared test fixtures: where the golden data lives, and a fresh output directory."""
from pathlib import Path

import pgan_ref  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore loads)
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"  # committed: a fresh clone's tests need nothing outside it
PGAN_CARD = FIXTURES / "pgan_card_performance.md"  # the ModelZoo PGAN card's performance table


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return the folder of the committed golden data (the .npz files described in its README)."""
    return FIXTURES


# The step-time API in the flat layout, the shape every revision since the step-time scenario has (fakes: no
# MindSpore; resolve_config returns the config alone, as in the first revisions).
FLAT_API = {
    "harness/__init__.py": "",
    "harness/runner.py": "def make_context(name, out_dir, preset, device, devices, variant, overrides, seed=None):\n"
                         "    return {'preset': preset, 'seed': seed}\n",
    "harness/scenarios/__init__.py": "",
    "harness/scenarios/common.py": "def resolve_config(ctx):\n    return {'scales': [4, 8]}\n",
    "harness/scenarios/step_time.py": (
        "class ScaleStep:\n"
        "    def __init__(self, scale, first):\n"
        "        self.scale, self.first = scale, first\n"
        "    def fetch(self):\n        return self.scale\n"
        "    def phases(self):\n        return [('stable', 1.0)] if self.first else [('fade', 0.5), ('stable', 1.0)]\n"
        "    def compute_at(self, alpha):\n        return lambda batch: [batch * alpha]\n"
        "def scale_steps(ctx, cfg):\n"
        "    for i, s in enumerate(cfg['scales']):\n        yield ScaleStep(s, i == 0)\n"),
    "pgan_ref/__init__.py": "",
    "pgan_ref/device.py": "def setup(device):\n    pass\n",
}


@pytest.fixture()
def flat_step_api():
    """Return ``write(folder)``: writes the fake old-layout step-time API (``FLAT_API``) there; returns the folder."""

    def write(folder: Path) -> Path:
        for name, text in FLAT_API.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        return folder

    return write


@pytest.fixture()
def usage_error(capsys):
    """Return ``check(code, message, exit_code=2)``: asserts a CLI call returned ``exit_code`` and printed exactly one
    stderr line, ``error: ...`` containing ``message``; returns that line."""

    def check(code: int, message: str, exit_code: int = 2) -> str:
        err = capsys.readouterr().err.strip().splitlines()
        assert code == exit_code, err
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
        return err[0]

    return check


@pytest.fixture()
def impl_step_records():
    """Return ``check(records, expected_labels)``: asserts a tiny two-scale ``step-time --impl`` run (4 px stable, 8 px
    fade and stable, batch_size_list [4, 2]) timed every phase with ``expected_labels``, each scale compiled once
    under the same ``impl``; returns the step-time records by (scale, phase)."""

    def check(records: list[dict], expected: dict) -> dict:
        steps = {(r["labels"]["scale"], r["labels"]["phase"]): r for r in records if r["metric"] == "step_time"}
        assert sorted(steps) == [(4, "stable"), (8, "fade"), (8, "stable")]
        for r in steps.values():
            assert {k: r["labels"].get(k) for k in expected} == expected
            assert len(r["samples"]) >= 2 and r["value"] > 0
        assert [steps[k]["labels"]["batch_size"] for k in sorted(steps)] == [4, 2, 2]  # batch_size_list, per scale
        compiles = [(r["labels"]["scale"], r["labels"]["impl"]) for r in records if r["metric"] == "compile_time"]
        assert compiles == [(4, expected["impl"]), (8, expected["impl"])]
        return steps

    return check
