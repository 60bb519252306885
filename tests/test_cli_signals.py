"""Signals sent to a running `neuronlab train`: a clean stop, a whole model marked
interrupted, and --resume finishes from it.  (bench/signals.py sends them at many
moments of a large run; this is the quick check that runs with every `make test`.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 5))
    y = (X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(20_000) > 0).astype(int)
    path = tmp_path_factory.mktemp("signals") / "data.csv"
    header = ",".join([f"x{j + 1}" for j in range(5)] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="", fmt="%.6g")
    return path


def train(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "neuronlab", "train", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_training_saves_an_interrupted_model_that_resumes(csv_file, tmp_path, signum):
    model = tmp_path / "m.json"
    run = train([csv_file, "--target", "y", "--out", model, "--steps", 1_000_000, "--tol", 0, "--lr", 0.01])
    for line in run.stderr:  # progress lines, in a pipe: the run has begun once one appears
        if line.startswith("step "):
            break
    time.sleep(0.3)
    os.kill(run.pid, signum)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130
    assert "Traceback" not in err
    saved = json.loads(model.read_text())
    assert saved["training"]["status"] == "interrupted"
    done = saved["training"]["steps_done"]
    assert 0 < done < 1_000_000
    resumed = subprocess.run([sys.executable, "-m", "neuronlab", "train", str(csv_file), "--target", "y",
                              "--resume", str(model), "--steps", str(done + 3), "--quiet"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(model.read_text())["training"]
    assert again["steps_done"] == done + 3 and again["status"] == "max_steps"


def wait_until_caught(pid, signum, seconds=60.0):
    """Wait until process ``pid`` catches ``signum`` (Linux: the SigCgt mask of /proc/PID/status)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            caught = 0
        if caught & (1 << (signum - 1)):
            return
        time.sleep(0.005)
    pytest.fail(f"the process did not install its handler for signal {signum} within {seconds} s")


def test_a_signal_before_training_writes_nothing_and_says_one_line(csv_file, tmp_path):
    model = tmp_path / "m.json"
    run = train([csv_file, "--target", "y", "--out", model, "--steps", 10])
    # within start-up (the imports, the reading), but not before the interpreter has run the
    # entry point's first line: until then no program can catch a signal, and a loaded machine
    # can take longer than any fixed sleep to get there
    wait_until_caught(run.pid, signal.SIGTERM)
    os.kill(run.pid, signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("neuronlab: interrupted")
    assert not model.exists()


def test_a_signal_after_the_command_has_ended_is_ignored():
    """The entry point's command ran and said so; the interpreter's finalisation then puts back
    the default actions, under which a late Ctrl-C killed the process without a word: after the
    command, SIGINT, SIGTERM and SIGHUP are ignored (the status is the command's)."""
    code = ("import os, signal, neuronlab.__main__ as entry\n"
            "status = entry.main(['datasets'])\n"
            "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
            "    os.kill(os.getpid(), s)\n"
            "print('still here', status)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("still here 0") and done.stderr == ""
