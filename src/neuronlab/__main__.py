"""``python -m neuronlab`` and the ``neuronlab`` script: the command-line tool.

Signals are taken over first, before anything else loads (``_signal`` is the interpreter's
built-in module: importing it costs nothing, where ``signal`` loads ``enum``): from the
first instant a Ctrl-C, SIGTERM or SIGHUP ends the command with one line and exit status 130.
"""

import _signal

_early: list = []
for _name in ("SIGINT", "SIGTERM", "SIGHUP"):
    if hasattr(_signal, _name):
        _signal.signal(getattr(_signal, _name), lambda signum, frame: _early.append(signum))

from .core.interrupt import hold_signals, request_interrupt  # noqa: E402

hold_signals()
if _early:
    request_interrupt("interrupted during start-up")

from .apps.cli import main as _run_command  # noqa: E402  (after the signals are held)


def main(argv=None) -> int:
    """The command's exit status; from then on the interrupting signals are ignored.  The command
    has ended and said so, and the interpreter's finalisation (which can take a while after
    numba and pyarrow) puts back the signals' default actions: a Ctrl-C landing then killed the
    process without a word, its work done (bench/signals.py saw it 2 times in 35)."""
    status = _run_command(argv)
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(_signal, name):
            _signal.signal(getattr(_signal, name), _signal.SIG_IGN)
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
