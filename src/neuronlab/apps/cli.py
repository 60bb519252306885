"""The ``neuronlab`` command line.

Each sub-command lives in its own module under ``neuronlab.commands`` with two
functions: ``register(subparsers)`` adds its parser, and the parser's ``run``
default does the work and returns the exit status.  This module only wires them
together and turns a user's mistake into one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from .._version import __version__
from ..core.interrupt import INTERRUPTING_SIGNALS, deferred_signals, take_interrupt

#: sub-command modules, in the order ``neuronlab --help`` lists them
COMMAND_MODULES = ["demo", "solve", "datasets", "train", "predict", "evaluate", "inspect", "lr_find",
                   "playground"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in how the command was called; printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (the usage is in --help)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="neuronlab",
        description="See and perform how a neuron learns: z = w·x + b, ŷ = f(z), "
        "θ ← θ − η·∇J(θ).",
    )
    parser.add_argument("--version", action="version", version=f"neuronlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(f".commands.{name}", __package__).register(subparsers)
    return parser


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    try:
        # numpy and the commands load here: a signal only asks to stop (a KeyboardInterrupt
        # raised inside an import can be lost), and the answer is read once they have loaded
        with deferred_signals():
            parser = build_parser()
            args = parser.parse_args(argv)
        if take_interrupt() is not None:
            raise KeyboardInterrupt
        # then SIGTERM and SIGHUP end a command as Ctrl-C does: one line, exit status 130 (a
        # training run holds all three itself, to stop between updates and save its model)
        if threading.current_thread() is threading.main_thread():
            for signum in INTERRUPTING_SIGNALS:
                signal.signal(signum, _stop_like_ctrl_c)
        if take_interrupt() is not None:  # one that came while the handlers were changed
            raise KeyboardInterrupt
        if not getattr(args, "command", None):
            # asking what the tool does is not a mistake: the help, on stdout, exit status 0
            parser.print_help()
            return 0
        return int(args.run(args) or 0)
    except BrokenPipeError:
        # the reader went away (e.g. `neuronlab ... | head`): not an error of ours or theirs
        sys.stderr.close()
        return 0
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, OSError, ArithmeticError) as e:
        # a user's mistake (bad value, missing file, a number too large to compute with, ...):
        # one line, no traceback
        # the library names its Python parameters (drop_missing=True): here, the options
        from .commands._common import in_cli_terms

        print(f"neuronlab: error: {in_cli_terms(_one_line(e))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        take_interrupt()  # acted on here: it must not stop a later run in this process
        print("neuronlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemError as e:
        # a signal that landed inside compiled code (numba) surfaces as a SystemError whose
        # cause is the KeyboardInterrupt: it is still only an interruption
        if isinstance(e.__context__, KeyboardInterrupt) or isinstance(e.__cause__, KeyboardInterrupt):
            print("neuronlab: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        raise


#: the longest error line printed (a message that lists a model's 100,000 feature names is cut)
MAX_LINE = 1000


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
