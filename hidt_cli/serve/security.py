"""What keeps a local server local: it listens on 127.0.0.1 unless told otherwise, and then
every request needs the token; requests from other web sites (their Origin) and names that are
not this machine's (the Host header, which DNS rebinding forges) are refused; request bodies
are capped before they are read. One ASGI middleware in front of every route."""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "hidt_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
RESPONSE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        b"frame-ancestors 'none'",
    ),
]


class BodyTooLarge(Exception):
    """A request body over the upload cap (raised while the body is read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request is over the upload limit of {limit} bytes (--max-upload-mb)")


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def required_token(host: str, given: str | None) -> str | None:
    """The token requests must carry: the one given, or a new random one when the server is
    reachable from other machines (never none there)."""
    if given:
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(18)


class Guard:
    """ASGI middleware: Host and Origin checks, the token, the body cap, security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None, local_only: bool, max_body: int):
        self.app = app
        self.token = token
        self.local_only = local_only
        """Bound to a loopback address: only loopback names may appear in the Host header."""
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _reply(send, *refusal)
            return
        if self.token and _query_token(scope) == self.token and scope["path"] == "/":
            # the printed URL carries the token once; the page then works through a cookie
            # and the address bar no longer shows it
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            await _reply(send, 303, None, [(b"location", b"/"), (b"set-cookie", cookie.encode())])
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, str(BodyTooLarge(self.max_body)))
            return
        await self.app(scope, self._capped(receive), _with_headers(send))

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.local_only and _host_name(host) not in LOOPBACK_NAMES:
            return 403, f"host {host!r} is not this machine (the server listens on loopback)"
        origin = headers.get("origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc != host:
            return 403, f"requests from {origin} are not accepted (another site's page)"
        if self.token and not self._has_token(scope, headers):
            return 401, (
                "this server needs its token: open the URL it printed, or send "
                "'Authorization: Bearer TOKEN'"
            )
        return None

    def _has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        offered = [_query_token(scope)]
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            offered.append(value.strip())
        cookies = SimpleCookie()
        cookies.load(headers.get("cookie", ""))
        if COOKIE in cookies:
            offered.append(cookies[COOKIE].value)
        return any(o and secrets.compare_digest(o.encode(), self.token.encode()) for o in offered)

    def _capped(self, receive: Receive) -> Receive:
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge(self.max_body)
            return message

        return capped


def _host_name(host: str) -> str:
    """'127.0.0.1:8023' → '127.0.0.1', '[::1]:8023' → '::1'."""
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


def _query_token(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _with_headers(send: Send) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *RESPONSE_HEADERS]
        await send(message)

    return send_with_headers


async def _reply(
    send: Send, status: int, error: str | None, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    body = b"" if error is None else json.dumps({"error": error}).encode()
    start = [*headers, *RESPONSE_HEADERS]
    if error is not None:
        start.append((b"content-type", b"application/json"))
    start.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
