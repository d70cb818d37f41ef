"""The server: the Starlette app over the engine, and uvicorn listening on a socket bound here.
Everything the server writes lies in one temporary folder, removed when it stops (Ctrl-C
included); a job in progress is cancelled at its next item."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hidt_cli.model import HiDT
from hidt_cli.serve.engine import Engine
from hidt_cli.serve.jobs import JobRunner
from hidt_cli.serve.routes import EXCEPTION_HANDLERS, Api
from hidt_cli.serve.security import Guard, is_loopback
from hidt_cli.serve.settings import ServeSettings

STATIC = Path(__file__).with_name("static")
GRACEFUL_SECONDS = 5
"""After Ctrl-C, how long requests in progress may finish before they are dropped."""


class Studio:
    """The server's state — engine, jobs, temporary folder — and the ASGI app over it; made
    and removed together (a context manager)."""

    def __init__(self, model: HiDT, settings: ServeSettings) -> None:
        self.settings = settings
        self.folder = Path(tempfile.mkdtemp(prefix="hidt-serve-"))
        try:
            self.engine = Engine(model, settings, self.folder)
            self.problems = self.engine.store.add_folder(settings.folder) if settings.folder else []
            self.jobs = JobRunner(self.folder)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.app = Guard(
            _starlette(Api(self.engine, self.jobs, settings)),
            token=settings.token,
            local_only=is_loopback(settings.host),
            max_body=settings.max_upload_bytes,
        )

    def close(self) -> None:
        self.jobs.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _starlette(api: Api) -> Starlette:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    routes = [Route("/", page), *api.routes(), Mount("/static", StaticFiles(directory=STATIC))]
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), or ValueError naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise ValueError(
            f"{host}:{port}: cannot listen: {reason} (choose another --port)"
        ) from None
    return sock


def page_url(settings: ServeSettings, port: int) -> str:
    host = settings.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # what a browser here can open
    shown = f"[{shown}]" if ":" in shown else shown
    query = f"?token={settings.token}" if settings.token else ""
    return f"http://{shown}:{port}/{query}"


class Server:
    """uvicorn serving a Studio on its own socket: `run()` in the foreground (Ctrl-C stops
    it), or `in_thread()` for tests and benchmarks."""

    def __init__(self, model: HiDT, settings: ServeSettings) -> None:
        self.socket = listen(settings.host, settings.port)
        try:
            self.studio = Studio(model, settings)
        except BaseException:
            self.socket.close()
            raise
        self.port = self.socket.getsockname()[1]
        self.url = page_url(settings, self.port)
        config = uvicorn.Config(
            self.studio.app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
        self._uvicorn = uvicorn.Server(config)

    def run(self) -> None:
        """Serve until Ctrl-C or SIGTERM; then remove everything the server wrote."""
        try:
            self._uvicorn.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.studio.close()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[Server]:
        thread = threading.Thread(target=self.run, name="hidt-serve", daemon=True)
        thread.start()
        try:
            while not self._uvicorn.started and thread.is_alive():
                thread.join(0.02)
            yield self
        finally:
            self._uvicorn.should_exit = True
            thread.join()


def warnings_for(settings: ServeSettings) -> list[str]:
    """What the person starting the server must know before others can reach it."""
    if is_loopback(settings.host):
        return []
    return [
        f"listening on {settings.host}: other machines can reach this server; every request "
        "needs the token in the URL below (or 'Authorization: Bearer TOKEN')"
    ]


def serve(
    model: HiDT, settings: ServeSettings, *, open_browser: bool, say: Callable[[str], None]
) -> None:
    """`hidt serve`: print where the page is, open it if asked, serve until Ctrl-C."""
    server = Server(model, settings)
    for line in [*warnings_for(settings), *server.studio.problems]:
        say(f"warning: {line}")
    if settings.folder is not None:
        count = len(server.studio.engine.store.sources())
        say(f"{settings.folder}: {count} photos offered by id")
    say(f"hidt studio: {server.url}  (Ctrl-C stops it)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [server.url]).start()
    # uvicorn passes Ctrl-C on once it has stopped; it is how a server is meant to stop
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    say("hidt studio: stopped")
