"""Helpers the command-line tests share: run ``neuronlab`` in-process."""

import warnings

from neuronlab.cli import main


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

