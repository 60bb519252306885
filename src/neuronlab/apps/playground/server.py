"""The playground's web server: a Starlette app serving the page and one WebSocket per page.

    GET  /?token=T              the page (static files in ``static/``, shipped in the package)
    GET  /api/options?token=T   what the page may choose: data sets, activations, losses, strategies
    POST /api/upload?token=T&name=F.csv   a CSV/TSV/Parquet file as the request body, read in memory
    WS   /ws?token=T            the step stream: the page sends commands, the server sends frames

Safe by default: the server listens on 127.0.0.1 only (see ``serve``); a request whose Host
header is not the server's own address is refused (no DNS rebinding), and so is a POST or a
WebSocket from another Origin; every API call and the socket need the random token of the
URL the command printed; uploads are parsed in memory with the CLI's own reader, with a size
limit; each socket's session is bounded (rows, steps, steps per second, a network's layers,
units and parameters) and ends when idle;
no file-system path ever comes from the page; a Content-Security-Policy allows only the
page's own scripts, styles and connections.

The WebSocket protocol (JSON objects with a ``type``), page → server:
``open`` {section: neuron|network|race|rates, config}, ``play``, ``pause``, ``step`` {n},
``reset``, ``set`` {settings} (taken at the next step), ``speed`` {steps_per_second},
``explain``, ``export``.  Server → page: ``ready`` (the section's set-up and first
frame), ``playing``, ``paused``, ``changed``, ``frame`` (new rows and where the run stands), ``ended`` (status, message,
suggested η), ``explain`` (lines), ``export`` (model file text), ``error`` {message},
``closed`` {message}.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import uuid
from collections import OrderedDict, deque
from importlib import resources
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import sessions

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOADS = 8  # kept while the server runs, the oldest dropped first
MAX_SOCKETS = 16
MAX_MESSAGE_CHARS = 64 * 1024
MAX_STEPS_PER_SECOND = 5000
DEFAULT_STEPS_PER_SECOND = 200
#: one page playing gets a frame about this often (a turn: steps, then its frame): a browser draws
#: at 60 a second, and on 2 busy cores a page that also renders got 12–16 of 30 asked, 22–26 of 60
FRAMES_PER_SECOND = 60
#: with many pages playing, each one's turn of the engine (steps, then its frame) is about
#: this long, so a frame reaches each of n pages every n × SHARED_TURN_SECONDS (10 pages: 0.08 s;
#: on a busy machine the turns stretch, see BENCHMARKS.md)
SHARED_TURN_SECONDS = 0.008
#: a turn steps for at least this long, however dear its frames: a run always moves on
MIN_STEP_SECONDS = 0.002
#: a ``step`` command of many steps holds the engine this long at most before letting the
#: other pages have their turn (its one frame comes at the end)
LONG_STEP_SLICE_SECONDS = 1.0 / FRAMES_PER_SECOND
SWITCH_INTERVAL_SECONDS = 0.001  # see make_server
#: while one page plays and the engine (not the speed asked for) limits it, its turns handed
#: to the engine ahead of the frame being sent: the engine goes from one turn to the next
#: without waiting for the event loop to come round.  With several pages playing, the others'
#: turns keep the engine busy, and one turn each keeps their frames evenly spaced.
TURNS_AHEAD = 2
IDLE_SECONDS = 15 * 60

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def static_dir():
    return resources.files(__package__).joinpath("static")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


class Guard:
    """ASGI middleware: Host, Origin and token checks for every request and socket."""

    def __init__(self, app, token: str, port: int):
        self.app = app
        self.token = token
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    def _refusal(self, scope):
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if host not in self.hosts:
            return 403, (f"refused: Host {host!r} is not this server's address "
                         f"({' or '.join(sorted(self.hosts))}); open the URL neuronlab playground printed")
        origin = headers.get("origin")
        checks_origin = scope["type"] == "websocket" or scope.get("method", "GET") not in ("GET", "HEAD")
        if checks_origin and origin is not None and origin not in self.origins:
            return 403, f"refused: a request from another site (Origin {origin!r})"
        path = scope.get("path", "")
        if path.startswith("/static/") or path == "/favicon.ico":
            return None  # the page's own scripts and styles: no secrets in them
        given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        if not given:
            return 403, "refused: the token is missing; open the URL neuronlab playground printed"
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return 403, "refused: wrong token; open the URL neuronlab playground printed"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        refusal = self._refusal(scope)
        if refusal is None:
            return await self.app(scope, receive, send)
        status, message = refusal
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await _error(status, message)(scope, receive, send)


def create_app(token: str, port: int, *, idle_seconds: float = IDLE_SECONDS,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, max_sockets: int = MAX_SOCKETS):
    """The playground's ASGI app for a server on 127.0.0.1:``port`` with this ``token``."""
    uploads: OrderedDict = OrderedDict()
    sockets = {"open": 0}
    engine = Engine()

    async def index(request: Request):
        return FileResponse(str(static_dir().joinpath("index.html")), headers=SECURITY_HEADERS,
                            media_type="text/html")

    async def options(request: Request):
        from ...core.activations import ACTIVATIONS
        from ...core.losses import LOSSES

        return JSONResponse({
            "datasets": list(sessions.DATASETS_2D), "activations": sorted(ACTIVATIONS),
            "losses": sorted(LOSSES), "strategies": list(sessions.PAGE_STRATEGIES),
            "models": list(sessions.MODELS), "neuron_defaults": sessions.NEURON_DEFAULTS,
            "race_defaults": sessions.RACE_DEFAULTS, "max_upload_bytes": max_upload_bytes,
            "max_steps_per_second": MAX_STEPS_PER_SECOND,
        }, headers=SECURITY_HEADERS)

    async def upload(request: Request):
        name = request.query_params.get("name", "upload.csv")
        if len(name) > 200 or not name.strip():
            return _error(400, "name must be the file's name, at most 200 characters")
        too_large = (f"{name}: the file is larger than the playground's limit of "
                     f"{max_upload_bytes / 1024 / 1024:g} MB; use a sample of its rows, or train on it "
                     "with 'neuronlab train'")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_upload_bytes:
            return _error(413, too_large)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_upload_bytes:
                return _error(413, too_large)
        from ...io.tables import read_table_bytes

        try:
            table = await run_in_threadpool(read_table_bytes, bytes(body), name)
        except (ValueError, TypeError) as e:
            return _error(400, " ".join(str(e).split()))
        if table.num_rows > sessions.MAX_ROWS:
            return _error(413, f"{name}: {table.num_rows} rows; the playground takes at most {sessions.MAX_ROWS}")
        if table.num_rows < 4:
            return _error(400, f"{name}: {table.num_rows} rows; the playground needs at least 4 to learn from")
        import pyarrow.types as pt

        numeric = [field.name for field in table.schema
                   if pt.is_integer(field.type) or pt.is_floating(field.type) or pt.is_boolean(field.type)]
        key = uuid.uuid4().hex
        uploads[key] = table
        while len(uploads) > MAX_UPLOADS:
            uploads.popitem(last=False)
        return JSONResponse({"upload": key, "name": name, "rows": table.num_rows,
                             "columns": list(table.column_names), "numeric": numeric}, headers=SECURITY_HEADERS)

    async def socket(ws: WebSocket):
        if sockets["open"] >= max_sockets:
            await ws.close(code=1013, reason=f"too many pages open (at most {max_sockets}); close one")
            return
        sockets["open"] += 1
        try:
            await ws.accept()
            await Connection(ws, uploads, idle_seconds, engine).run()
        finally:
            sockets["open"] -= 1

    async def not_found(request: Request, exc):
        return _error(getattr(exc, "status_code", 404), getattr(exc, "detail", "not found"))

    routes = [
        Route("/", index),
        Route("/api/options", options),
        Route("/api/upload", upload, methods=["POST"]),
        WebSocketRoute("/ws", socket),
        Mount("/static", app=StaticFiles(directory=str(static_dir())), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.uploads = uploads
    return Guard(app, token, port)


class Engine:
    """The server's one engine, shared by every page: one thread that runs the pages' turns
    (steps, then a frame) one after another, in the order they asked.  Python runs one
    thread at a time anyway; taking turns instead of sharing it thread against thread keeps
    each page's frames coming at a steady pace, and since the next turn waits in the
    thread's own queue, the engine goes from one page to the next without waiting for the
    event loop, which is left free to send the frames."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuronlab-engine")
        self.playing = 0  # pages playing now

    def submit(self, work, *args) -> asyncio.Future:
        """``work(*args)`` handed to the engine's thread now, to run after the turns asked for
        before it; await the future for its result."""
        return asyncio.get_running_loop().run_in_executor(self.thread, work, *args)

    def step_seconds(self, frame_seconds: float) -> float:
        """How long a playing page steps in its turn, given what its frame costs: the turn
        (steps and frame) is a 1/FRAMES_PER_SECOND of a second for one page, and its share
        of SHARED_TURN_SECONDS × n when n pages play."""
        turn = max(1.0 / FRAMES_PER_SECOND / max(1, self.playing), SHARED_TURN_SECONDS)
        return max(MIN_STEP_SECONDS, turn - frame_seconds)

    def frame_period(self) -> float:
        """How often a playing page gets a frame, at most."""
        return max(1.0 / FRAMES_PER_SECOND, SHARED_TURN_SECONDS * self.playing)


class Connection:
    """One page's socket: its session, play/pause, and the loop that steps and sends frames.

    Commands and steps run one at a time in this coroutine (the steps in the engine's
    thread, in turns with the other pages, so that they keep their frames), so a setting
    changed between two steps is the one the next step uses.  While playing, a turn steps
    for as long as the engine allows (``Engine.step_seconds``) and then makes one frame of
    the latest state, serialised in the engine's thread: the page gets every row, in about
    FRAMES_PER_SECOND frames a second (fewer when the engine or the machine is busy)."""

    def __init__(self, ws, uploads, idle_seconds, engine: Engine):
        self.ws = ws
        self.uploads = uploads
        self.idle_seconds = idle_seconds
        self.engine = engine
        self.session = None
        self._playing = False
        self.steps_per_second = DEFAULT_STEPS_PER_SECOND
        self.owed = 0.0  # steps earned by the clock and not yet made
        self.frame_seconds = 0.0  # what a frame costs (making and serialising it), as last measured
        self.turns = deque()  # playing turns handed to the engine whose frames are not sent yet
        self.last_tick = time.monotonic()
        self.last_heard = time.monotonic()

    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, value: bool) -> None:
        # the engine counts the pages playing, to share its time among them
        self.engine.playing += int(bool(value)) - int(self._playing)
        self._playing = bool(value)

    async def send(self, message: dict):
        await self.ws.send_text(_json(message))

    async def run(self):
        queue: asyncio.Queue = asyncio.Queue(maxsize=256)

        async def reader():
            try:
                while True:
                    await queue.put(await self.ws.receive_text())
            except (WebSocketDisconnect, RuntimeError):
                await queue.put(None)

        task = asyncio.create_task(reader())
        try:
            while True:
                now = time.monotonic()
                if self.playing and self.turns:
                    timeout = 0.0  # the next frame is on its way: wait for it in tick
                elif self.playing:
                    timeout = max(0.0, self.last_tick + self.engine.frame_period() - now)
                else:
                    timeout = max(0.0, self.last_heard + self.idle_seconds - now)
                try:
                    text = await asyncio.wait_for(queue.get(), timeout)
                except asyncio.TimeoutError:
                    text = ""
                if text is None:
                    return  # the page went away: the session and its memory go with it
                if text:
                    self.last_heard = time.monotonic()
                    await self.handle(text)
                elif self.playing:
                    await self.tick()
                elif time.monotonic() - self.last_heard >= self.idle_seconds:
                    await self.send({"type": "closed", "message": "this page was idle for "
                                     f"{self.idle_seconds:g} s: its session ended; reload to start again"})
                    await self.ws.close(code=1000)
                    return
        except WebSocketDisconnect:
            return  # the page went away while a frame was on its way
        finally:
            task.cancel()
            for turn, _ in self.turns:
                turn.cancel()  # their frames have no page to go to
            self.playing = False
            self.session = None

    async def tick(self):
        """While playing: the frame of the oldest turn handed to the engine (or of a new
        turn), and — before it is sent, when the engine is what limits the pace — new turns
        up to TURNS_AHEAD, so the engine steps on while the event loop sends."""
        if not self.turns:
            turn = self._start_turn()
            if turn is None:
                return
            self.turns.append(turn)
        turn, asked = self.turns.popleft()
        made, texts = await turn
        # a turn that made every step it was given: the speed asked for is the limit, and the
        # next turn waits for the clock (in run) instead of coming at once
        engine_bound = made < asked
        ahead = TURNS_AHEAD if self.engine.playing == 1 else 1
        while engine_bound and self.playing and len(texts) == 1 and len(self.turns) < ahead:  # two: it ended
            turn = self._start_turn()
            if turn is None:
                break
            self.turns.append(turn)
        await self._send_texts(texts)

    def _start_turn(self):
        """(future, steps asked): a playing turn handed to the engine now, of the steps the
        clock has earned (None: not one yet)."""
        now = time.monotonic()
        elapsed = min(now - self.last_tick, 0.25)
        self.last_tick = now
        # steps earned by the clock; what the engine cannot make within a frame's time is
        # dropped, not owed: the page stays live at the speed the engine can go
        self.owed = min(self.owed + self.steps_per_second * elapsed,
                        max(1.0, 2 * self.steps_per_second * self.engine.frame_period()))
        n = int(self.owed)
        if n < 1:
            return None
        self.owed -= n
        return self.engine.submit(self._turn, self.session, n, self.engine.step_seconds(self.frame_seconds), True), n

    async def _settle(self):
        """Wait for the turns already handed to the engine and send their frames: a command
        acts after them, on the run the page has seen (no row is made without being sent)."""
        while self.turns:
            made, texts = await self.turns.popleft()[0]
            await self._send_texts(texts)

    async def advance(self, n: int):
        """``n`` steps (fewer if the run ends), in slices that let the other pages have their
        turns, then one frame."""
        while True:
            made, texts = await self.engine.submit(self._turn, self.session, n, LONG_STEP_SLICE_SECONDS, False)
            n -= made
            if texts:
                return await self._send_texts(texts)

    def _turn(self, session, n: int, seconds: float, frame_anyway: bool):
        """(steps made, messages): up to ``n`` steps for about ``seconds``, one at a time (a
        network's step can take a millisecond: a few at a time would overrun a short turn);
        then — when all ``n`` are made, the run ended, or ``frame_anyway`` — the frame (and
        the ending) as JSON text, made here so the event loop only sends it.  Runs in the
        engine's thread, as this connection's turn."""
        end = time.perf_counter() + seconds
        made = 0
        while made < n and not session.finished:
            session.advance(1)
            made += 1
            if time.perf_counter() >= end:
                break
        if not (frame_anyway or made >= n or session.finished):
            return made, []
        start = time.perf_counter()
        texts = [_json(session.frame())]
        ending = session.ending()
        if ending is not None:
            texts.append(_json(ending))
        self.frame_seconds = time.perf_counter() - start
        return made, texts

    async def _send_texts(self, texts):
        for text in texts:
            await self.ws.send_text(text)
        if len(texts) > 1:  # the run ended
            self.playing = False

    async def handle(self, text: str):
        await self._settle()
        if len(text) > MAX_MESSAGE_CHARS:
            return await self.send({"type": "error", "message": f"message too long ({len(text)} characters)"})
        try:
            message = json.loads(text)
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise ValueError("each message is a JSON object with a 'type'")
            await self.command(message)
        except json.JSONDecodeError:
            await self.send({"type": "error", "message": "a message must be JSON"})
        except (ValueError, TypeError, ArithmeticError) as e:
            # a user's mistake: said on the page, the socket stays open
            await self.send({"type": "error", "message": " ".join(str(e).split()) or type(e).__name__})

    def _needs_session(self):
        if self.session is None:
            raise ValueError("open a section first ({'type': 'open', 'section': 'neuron'})")
        return self.session

    async def command(self, m: dict):
        kind = m["type"]
        if kind == "open":
            config = m.get("config") or {}
            section = m.get("section")
            self.playing = False
            self.session = None
            self.session = await run_in_threadpool(sessions.open_section, section, config, self.uploads)
            await self.send(await run_in_threadpool(self.session.info))
        elif kind == "play":
            session = self._needs_session()
            if session.finished:
                raise ValueError("the run has ended: press reset to start again")
            self.playing = True
            await self.send({"type": "playing"})
            self.owed = 1.0  # the first frame comes at once
            self.last_tick = time.monotonic()
            await self.tick()
        elif kind == "pause":
            self.playing = False
            await self.send({"type": "paused"})
        elif kind == "step":
            session = self._needs_session()
            n = m.get("n", 1)
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000:
                raise ValueError(f"n must be a whole number from 1 to 10000, got {n!r}")
            self.playing = False
            if session.finished:
                raise ValueError("the run has ended: press reset to start again")
            await self.advance(n)
        elif kind == "reset":
            session = self._needs_session()
            self.playing = False
            await run_in_threadpool(session.reset)
            await self.send(await run_in_threadpool(session.info))
        elif kind == "set":
            session = self._needs_session()
            if not hasattr(session, "change"):
                raise ValueError(f"the {session.section} section has no settings to change mid-run; reset it")
            await run_in_threadpool(session.change, m.get("settings"))
            await self.send({"type": "changed", "config": session.config,
                             "learning_rate": session.training.learning_rate,
                             "stability_limit": session.stability_limit})
        elif kind == "speed":
            value = m.get("steps_per_second")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and 1 <= value <= MAX_STEPS_PER_SECOND):
                raise ValueError(f"steps_per_second must be from 1 to {MAX_STEPS_PER_SECOND}, got {value!r}")
            self.steps_per_second = float(value)
        elif kind == "explain":
            await self.send(await run_in_threadpool(self._needs_session().explain))
        elif kind == "export":
            session = self._needs_session()
            if not hasattr(session, "export"):
                raise ValueError("only the neuron and network sections export a model file")
            await self.send(await run_in_threadpool(session.export))
        else:
            raise ValueError(f"unknown message type {kind!r}; the types are: open, play, pause, step, "
                             "reset, set, speed, explain, export")


def _json(message: dict) -> str:
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


def listening_socket(port: int = 0):
    """A socket bound to 127.0.0.1:``port`` (0: a free port the system picks) and listening:
    bound before the URL is printed, so the URL works as soon as it is shown."""
    import errno
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ValueError(f"--port {port}: already in use; choose another or leave --port out for a "
                             "free one") from None
        raise
    sock.listen(128)
    return sock


def warm_up() -> None:
    """Load what the first page needs (pyarrow, the readers, the engine) while the browser
    opens, so that its first frame does not wait for imports."""
    try:
        sessions.NeuronSession({"dataset": "linear"}).frame()
    except Exception:  # noqa: BLE001 - only a head start: the page reports its own errors
        pass


def new_token() -> str:
    return secrets.token_urlsafe(24)


def make_server(port: int = 0, token=None, **app_options):
    """(uvicorn.Server, url, socket): a server for the playground on 127.0.0.1 only; run it with
    ``server.run(sockets=[socket])``."""
    import sys

    import uvicorn

    # the server's threads (the event loop sending frames, the engine stepping) hand Python's
    # lock to each other every millisecond instead of every 5: a frame ready to send, or the
    # next page's turn, does not wait for the other thread's time slice to run out
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    sock = listening_socket(port)
    port = sock.getsockname()[1]
    token = token or new_token()
    app = create_app(token, port, **app_options)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=1 << 20,
                            lifespan="off", proxy_headers=False, server_header=False)
    return uvicorn.Server(config), f"http://127.0.0.1:{port}/?token={token}", sock
