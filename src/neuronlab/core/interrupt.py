"""Interruption as a flag: signals that ask a run to stop between two of its updates.

A signal handler may run at any moment — inside compiled code, halfway through
writing a file.  Here the handlers only set a flag (``request_interrupt``); the
training loop reads it between updates (``take_interrupt``), and a command that has
work that must not be cut (saving a model) reads it when that work is done.
Standard library only: the command line installs these handlers before numpy loads.
"""

from __future__ import annotations

import signal
import threading


__all__ = ["INTERRUPTING_SIGNALS", "request_interrupt", "pending_interrupt", "take_interrupt", "hold_signals",
           "deferred_signals"]

#: the signals that interrupt a run cleanly (where the platform has them)
INTERRUPTING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                             if hasattr(signal, name))


#: an interruption asked for by a signal and not yet acted on (see ``request_interrupt``)
_pending_interrupt: list = [None]


def request_interrupt(reason: str) -> None:
    """Ask the run in progress — or the next one to take a step — to stop cleanly.

    What the signal handlers here call: safe at any moment, since it only sets a flag
    that the loop reads between updates."""
    _pending_interrupt[0] = reason


def pending_interrupt() -> bool:
    """Whether an interruption was asked for and not yet acted on."""
    return _pending_interrupt[0] is not None


def take_interrupt() -> "str | None":
    """The pending interruption's reason (then cleared), or None."""
    reason, _pending_interrupt[0] = _pending_interrupt[0], None
    return reason


class deferred_signals:
    """While inside, in the main thread, SIGINT, SIGTERM and SIGHUP only ask for an
    interruption (``request_interrupt``) instead of raising where they land; a second
    SIGINT while one is pending raises KeyboardInterrupt, as the user insists.  The
    previous handlers come back on the way out.  With ``drop_stale`` an interruption
    left pending from before is forgotten — unless an enclosing ``deferred_signals``
    is holding it for what comes next."""

    #: how many are entered now (the outermost one owns what is pending)
    depth = 0

    def __init__(self, drop_stale: bool = False):
        self.drop_stale = drop_stale
        self.previous = {}

    @staticmethod
    def handle(signum, frame):
        if signum == signal.SIGINT and _pending_interrupt[0] is not None:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        request_interrupt("interrupted (Ctrl-C)" if signum == signal.SIGINT else f"interrupted ({name})")

    def __enter__(self):
        if self.drop_stale and deferred_signals.depth == 0:
            take_interrupt()
        deferred_signals.depth += 1
        if threading.current_thread() is threading.main_thread():
            for signum in INTERRUPTING_SIGNALS:
                try:
                    self.previous[signum] = signal.signal(signum, self.handle)
                except (ValueError, OSError):  # not allowed here (e.g. an embedded interpreter)
                    pass
        return self

    def __exit__(self, *exc):
        deferred_signals.depth -= 1
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False


def hold_signals() -> None:
    """From now on SIGINT, SIGTERM and SIGHUP only ask for an interruption (as inside
    ``deferred_signals``): the first thing the command line's entry point does, before any
    other import, so that a signal during start-up is answered with one line, not a
    traceback from inside an import or a silent kill.  Never called by the library."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in INTERRUPTING_SIGNALS:
        try:
            signal.signal(signum, deferred_signals.handle)
        except (ValueError, OSError):  # pragma: no cover - not allowed here
            pass
