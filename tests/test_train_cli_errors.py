"""The train CLI as a user runs it: bad values, files, data, checkpoints -> one line, exit 2; INT/TERM -> exit 130."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgan_ref.synthetic import write_synthetic

REPO = Path(__file__).resolve().parents[1]


def train_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m pgan_ref.train ARGS`` from this checkout; return the completed process (text output)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pgan_ref.train", "--no_progress", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Return a folder of 8 small synthetic images."""
    folder = tmp_path_factory.mktemp("images")
    write_synthetic(folder, n=8, size=(32, 40))
    return folder


def assert_one_line(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> None:
    """Assert exit ``code`` and a single stderr line holding every fragment (no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), proc.stderr


@pytest.mark.parametrize("override, fragments", [
    ("batch_size=abc", ("'batch_size' = 'abc'", "an integer >= 1")),
    ("lr=abc", ("'lr' = 'abc'", "a number > 0")),
    ("lr=-1", ("'lr' = -1", "a number > 0")),
    ("deviations=foo", ("'deviations' = 'foo'", "mapping of switch names")),
    ("deviations.d2_maxpool_downsample=maybe", ("'deviations.d2_maxpool_downsample' = 'maybe'", "true or false")),
    ("scales=5", ("'scales' = 5", "list of integers >= 4, one per scale")),
    ("model_save_step=0", ("'model_save_step' = 0", "an integer >= 1")),
    ("num_workers=0", ("'num_workers' = 0", "an integer >= 1")),
    ("num_workers=-2", ("'num_workers' = -2", "an integer >= 1")),
    ("num_batch=[24,-1,32,32]", ("'num_batch' = [24, -1, 32, 32]", "list of integers >= 1")),
    ("depth=[32,32]", ("'depth' has 2 entries but 'scales' has 4",)),
])
def test_bad_config_value_is_one_line_and_exit_2(images, override, fragments):
    assert_one_line(train_cli("--train_data_path", str(images), "--set", override), "error: config key", *fragments)


def test_empty_yaml_is_refused(images, tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    proc = train_cli("--train_data_path", str(images), "--config_path", str(tmp_path / "empty.yaml"))
    assert_one_line(proc, "empty.yaml is empty")


def test_non_utf8_yaml_is_refused(images, tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("lr: 0.001\nfile_name: Gér\n".encode("latin-1"))
    proc = train_cli("--train_data_path", str(images), "--config_path", str(tmp_path / "latin1.yaml"))
    assert_one_line(proc, "latin1.yaml is not UTF-8", "byte 0xe9 at offset 22")


@pytest.mark.parametrize("option, fragments", [
    (("--stop_after", "0"), ("--stop_after 0", "integer >= 1")),
    (("--seed", "-3"), ("'seed' = -3", "integer >= 0")),
    (("--device_id", "-1"), ("--device_id -1 is not accepted", "an integer >= 0")),
])
def test_bad_option_is_one_line_and_exit_2(images, option, fragments):
    assert_one_line(train_cli("--train_data_path", str(images), *option), *fragments)


# A 4-8 network small enough to compile in seconds: 4 iterations per scale, a set saved after 1, 3 and 4.
TINY = ["--set", "scales=[4,8]", "--set", "depth=[8,8]", "--set", "latent=16", "--set", "num_batch=[4,4]",
        "--set", "alpha_jumps=[0,2]", "--set", "alpha_size_jumps=[1,1]", "--set", "batch_size=4",
        "--set", "model_save_step=2", "--set", "num_workers=1"]


@pytest.fixture(scope="module")
def trained(images, tmp_path_factory) -> Path:
    """Return a checkpoint folder holding the 4x4 sets 1, 3 and 4 of a TINY run (stopped after scale 4)."""
    ck = tmp_path_factory.mktemp("ck") / "ck"
    proc = train_cli("--train_data_path", str(images), *TINY, "--ckpt_save_dir", str(ck), "--stop_after", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (ck / "4").glob("state_*.json")) == ["state_1.json", "state_3.json",
                                                                      "state_4.json"]
    return ck


def flip_tensor_bytes(path: Path, count: int = 64) -> None:
    """Invert ``count`` bytes in the data of the largest tensor of checkpoint ``path`` (the file stays parseable)."""
    import mindspore as ms

    largest = max(ms.load_checkpoint(str(path)).values(), key=lambda p: p.size).asnumpy().tobytes()
    blob = bytearray(path.read_bytes())
    start = blob.find(largest) + len(largest) // 2
    assert len(largest) >= 2 * count and start >= len(largest) // 2
    blob[start:start + count] = bytes(b ^ 0xFF for b in blob[start:start + count])
    path.write_bytes(bytes(blob))


def copy_of(ck: Path, tmp_path: Path) -> Path:
    """Return a private copy of checkpoint folder ``ck``."""
    import shutil

    return Path(shutil.copytree(ck, tmp_path / "ck"))


def test_too_few_images_for_a_batch(images):
    proc = train_cli("--train_data_path", str(images), *TINY, "--set", "batch_size=16")
    assert_one_line(proc, "8 images in", "cannot fill one batch of batch_size=16")


def test_no_readable_image(tmp_path):
    for i in range(5):
        (tmp_path / f"{i:06d}.jpg").write_bytes(b"not a jpeg" * i)
    proc = train_cli("--train_data_path", str(tmp_path), *TINY)
    assert_one_line(proc, f"none of the 5 images in {tmp_path} could be read")


@pytest.mark.slow
def test_resume_into_a_folder_of_another_configuration(images, trained, tmp_path):
    ck = copy_of(trained, tmp_path)
    proc = train_cli("--train_data_path", str(images), *TINY, "--set", "lr=0.002", "--ckpt_save_dir", str(ck))
    assert_one_line(proc, f"{ck / '4'} holds checkpoints of a different configuration")


@pytest.mark.slow
def test_no_intact_set_is_one_line(images, trained, tmp_path):
    ck = copy_of(trained, tmp_path)
    for marker in (ck / "4").glob("state_*.json"):
        marker.write_text('{"i": "three"}')
    proc = train_cli("--train_data_path", str(images), *TINY, "--ckpt_save_dir", str(ck))
    assert_one_line(proc, f"no intact checkpoint set under {ck}", "state_4.json is malformed")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["bad marker", "truncated G", "flipped AvG"])
def test_damaged_newest_set_falls_back_to_the_older_one(images, trained, tmp_path, damage):
    ck = copy_of(trained, tmp_path)
    if damage == "bad marker":
        (ck / "4" / "state_4.json").write_text("{not json")
        problem = f"state marker {ck / '4' / 'state_4.json'} is unreadable"
    elif damage == "truncated G":
        g = ck / "4" / "G_4.ckpt"
        g.write_bytes(g.read_bytes()[: g.stat().st_size // 2])
        problem = f"checkpoint {g} is damaged or truncated"
    else:
        flip_tensor_bytes(ck / "4" / "AvG_4.ckpt")
        problem = f"checkpoint {ck / '4' / 'AvG_4.ckpt'} is damaged or truncated"
    proc = train_cli("--train_data_path", str(images), *TINY, "--ckpt_save_dir", str(ck), "--stop_after", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "resuming from the older intact set" in line]
    assert len(warnings) == 1 and problem in warnings[0] and str(ck / "4" / "state_3.json") in warnings[0]
    assert "training stopped: 1 iterations this run" in proc.stdout
    steps = [json.loads(line) for line in (ck / "steps_rank0.jsonl").read_text().splitlines()]
    assert (steps[-1]["scale"], steps[-1]["i"]) == (4, 3)  # the step after set 3 was trained again


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_says_where_it_resumes_and_exits_130(images, tmp_path, sig):
    ck = tmp_path / "ck"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "pgan_ref.train", "--no_progress", "--train_data_path",
                             str(images), *TINY, "--set", "num_batch=[4000,4]", "--ckpt_save_dir", str(ck)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (ck / "4" / "state_1.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    newest = max((ck / "4").glob("state_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    assert err.strip().splitlines()[-1] == f"interrupted: the same command resumes from the newest checkpoint " \
                                           f"set ({newest})"
    assert not list((ck / "4").glob(".tmp-*"))  # a save under way was completed, not torn


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_whose_raise_a_native_call_swallowed_is_raised_again_at_the_next_step(sig):
    from pgan_ref.interrupt import raise_if_interrupted, terminate_as_interrupt

    with terminate_as_interrupt():
        raise_if_interrupted()  # nothing received yet: no raise
        try:  # a native call that checks signals, turns the KeyboardInterrupt into its own error and drops it
            os.kill(os.getpid(), sig)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
        with pytest.raises(KeyboardInterrupt, match=sig.name):
            raise_if_interrupted()
    with terminate_as_interrupt():  # a new block starts with nothing received
        raise_if_interrupted()
