"""``python -m neuronlab``: the command-line tool."""

from .apps.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
