"""``neuronlab playground``: watch the real engine learn, live, in a local web page.

Starts a web server on 127.0.0.1 (this computer only) at a free port, or --port,
prints the page's URL (with a random token only that URL knows) and opens it in
the browser unless --no-browser.  The page runs neuronlab itself: the equation
race, a neuron learning a 2-D data set (a built-in one or your own CSV), and the
learning rates side by side, each step computed by the library as the CLI does.
Ctrl-C stops the server.  Needs the extra: pip install 'neuronlab[playground]'.
"""

from __future__ import annotations

import importlib.util
import sys

from . import _common

EXAMPLES = """examples:
  neuronlab playground
  neuronlab playground --port 8765 --no-browser
"""
INSTALL = "pip install 'neuronlab[playground]'"


def register(subparsers):
    p = _common.add_command(subparsers, "playground", "watch the engine learn, live, in a local web page",
                            __doc__, EXAMPLES)
    p.add_argument("--port", type=port_type, default=0,
                   help="port on 127.0.0.1, 1024 … 65535 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL only, do not open a browser")
    p.set_defaults(run=run)


def port_type(text) -> int:
    return _common._checked(text, int, lambda v: 1024 <= v <= 65535, "a port number from 1024 to 65535")


def missing_extra():
    """The name of a package the playground needs that is not installed, else None."""
    for module in ("starlette", "uvicorn", "websockets"):
        if module in sys.modules:
            if sys.modules[module] is None:  # an import of it is blocked
                return module
        elif importlib.util.find_spec(module) is None:
            return module
    return None


def run(args) -> int:
    missing = missing_extra()
    if missing is not None:
        print(f"neuronlab: error: the playground needs {missing}, which is not installed; install it with: "
              f"{INSTALL}", file=sys.stderr)
        return 2
    import threading

    from ..playground.server import make_server, warm_up

    server, url, sock = make_server(args.port)
    threading.Thread(target=warm_up, daemon=True).start()
    print(f"neuronlab playground: {url}", flush=True)
    print("(this computer only; Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])  # uvicorn takes Ctrl-C (and SIGTERM): it closes the pages' sockets and returns
    except KeyboardInterrupt:
        pass  # uvicorn hands the signal on once it has stopped: stopping is what it asked for
    print("neuronlab playground: stopped", flush=True)
    return 0
