"""Helpers the command-line tests share: run ``neuronlab`` in-process, read a child's output
with a deadline."""

import queue
import threading
import warnings

import pytest

from neuronlab.apps.cli import main


def run_cli(capsys, *argv):
    """(exit status, stdout, stderr) of ``neuronlab ARGV`` run in-process.

    No warning may be raised on the way (e.g. a RuntimeWarning from arithmetic on inf):
    a command reports problems in its output, not through Python's warnings.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert [str(w.message) for w in caught] == []
    return status, out, err


def readline_within(stream, seconds: float) -> str:
    """The next line of a child process's ``stream``, failing the test if none comes within
    ``seconds``: a hung child must fail the test, not hang the test run.  (The caller kills
    the child, which ends the reading thread.)"""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        pytest.fail(f"no line from the child process within {seconds} s")
