"""A hidt studio server on a free loopback port of this process, and a small HTTP client for
it (real requests over a socket, through urllib), shared by tests/test_serve_*.py and
benchmarks/bench_serve.py."""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hidt_cli.model import HiDT
from hidt_cli.serve.app import Server
from hidt_cli.serve.settings import ServeSettings


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.body))

    def pixels(self) -> np.ndarray:
        return np.asarray(self.image().convert("RGB"), dtype=np.float64)


class Client:
    """Requests to one server; `headers` go with every request (a token, say)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base.rstrip("/")
        self.headers = dict(headers or {})

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Reply:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers={**self.headers, **(headers or {})}
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=120) as response:
                return Reply(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, _lower(error.headers), error.read())

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post_form(
        self, path: str, fields: dict[str, str] | None = None, files: dict | None = None
    ) -> Reply:
        """files: field → (file name, bytes)."""
        body, content_type = multipart(fields or {}, files or {})
        return self.request("POST", path, body, {"content-type": content_type})

    def post_json(self, path: str, data: object) -> Reply:
        body = json.dumps(data).encode()
        return self.request("POST", path, body, {"content-type": "application/json"})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def running(model: HiDT, **settings: object) -> Iterator[tuple[Server, Client]]:
    """A server on 127.0.0.1 and a free port, in a thread, until the block ends."""
    chosen = ServeSettings(**{"port": 0, **settings})
    server = Server(model, chosen)
    with server.in_thread():
        headers = {"authorization": f"Bearer {chosen.token}"} if chosen.token else {}
        yield server, Client(f"http://127.0.0.1:{server.port}", headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
