"""Rate limiting for any ASGI application: each HTTP request costs its user a token.

``RateLimitMiddleware`` wraps an ASGI application (Starlette, FastAPI, or any
other). Each HTTP request is answered by a ``Limiter``: allowed, it reaches the
application, and its response carries the rate-limit fields of the IETF draft
"RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers-11);
denied, it gets ``429 Too Many Requests`` with ``Retry-After`` and a JSON body,
and the application never sees it. Lifespan and websocket traffic pass through
untouched. How each field is derived from the bucket is in docs/asgi.md.

The core package never imports this module: ``import limiter.asgi`` asks for it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from fractions import Fraction
from typing import Any, TypeAlias

from limiter.bucket import BucketConfig, Decision
from limiter.errors import InvalidInput, StorageError
from limiter.registry import Limiter
from limiter.store import MemoryStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from limiter.registry import Time

__all__ = [
    "ON_STORE_ERROR",
    "ASGIApp",
    "RateLimitMiddleware",
    "Receive",
    "Scope",
    "Send",
    "client_address",
    "default_body",
]

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
Header: TypeAlias = tuple[bytes, bytes]

ON_STORE_ERROR = ("refuse", "allow")
"""What a request meets while the store fails: a 503, or the application."""

_log = logging.getLogger("limiter")
_NO_ADDRESS = "unknown"  # the user of requests whose server gives no client address
_LARGEST_SF_INTEGER = 999_999_999_999_999  # structured fields allow 15 digits
_SF_STRING_CHARACTERS = frozenset(map(chr, range(0x20, 0x7F)))


def client_address(scope: Scope) -> str:
    """The user of a request by default: its client's address, as the server saw it.

    Requests with no client address (a server on a Unix socket) share one user.
    """
    client = scope.get("client")
    return str(client[0]) if client else _NO_ADDRESS


def default_body(decision: Decision, retry_after: int) -> object:
    """The JSON body of a denied request: ``{"error": ..., "retry_after": 2}``."""
    return {"error": "rate limited", "retry_after": retry_after}


class RateLimitMiddleware:
    """An ASGI middleware that answers each HTTP request of ``app`` by ``limiter``.

    ``user_key`` names the user of a request from its scope (by default the
    client's address; ``None`` lets the request through uncounted). ``clock``
    gives the time of each request in seconds. Paths in ``exclude``, or starting
    with one of ``exclude_prefixes``, are neither counted nor given fields.
    ``denied_body`` makes the JSON body of a 429 from the decision and its
    ``Retry-After`` seconds. While the store raises ``StorageError``, requests
    are refused with 503 (``on_store_error="refuse"``) or let through
    (``"allow"``); each outage is logged once on the ``limiter`` logger as it
    starts and once as it ends (or given to ``report``). ``policy`` names the
    limit in the fields. ``in_thread`` says whether store calls run in a worker
    thread, off the event loop; by default they do for every store but a
    ``MemoryStore``.
    """

    __slots__ = (
        "_clock",
        "_denied_body",
        "_failed_request",
        "_outage",
        "_policy_name",
        "_report",
        "_requests",
        "_user_key",
        "app",
        "exclude",
        "exclude_prefixes",
        "in_thread",
        "limiter",
        "on_store_error",
        "policy",
    )

    def __init__(
        self,
        app: ASGIApp,
        limiter: Limiter,
        *,
        user_key: Callable[[Scope], str | None] = client_address,
        clock: Callable[[], Time] = time.time,
        exclude: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        denied_body: Callable[[Decision, int], object] = default_body,
        on_store_error: str = "refuse",
        policy: str = "default",
        in_thread: bool | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        if on_store_error not in ON_STORE_ERROR:
            choices = ", ".join(ON_STORE_ERROR)
            problem = f"expected one of {choices}, found {on_store_error!r}"
            raise InvalidInput("on_store_error", problem)
        if not policy or not set(policy) <= _SF_STRING_CHARACTERS:
            problem = f"expected printable ASCII text, found {policy!r}"
            raise InvalidInput("policy", problem)
        self.app = app
        self.limiter = limiter
        self.exclude = frozenset(exclude)
        self.exclude_prefixes = tuple(exclude_prefixes)
        self.on_store_error = on_store_error
        self.policy = policy
        if in_thread is None:
            in_thread = not isinstance(limiter.store, MemoryStore)
        self.in_thread = in_thread
        self._user_key = user_key
        self._clock = clock
        self._denied_body = denied_body
        self._report = _log.warning if report is None else report
        self._policy_name = _sf_string(policy)

        # The outage, kept on the event loop's thread alone, so it needs no lock.
        # Requests are numbered as they start; one that began before the latest
        # failure says nothing about the store now, whatever it met.
        self._requests = itertools.count()
        self._failed_request = -1
        self._outage: tuple[str, Time] | None = None  # the store's name, and since

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection: limit it if it is an HTTP request."""
        if scope["type"] != "http" or self._excluded(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        user = self._user_key(scope)
        if user is None:
            await self.app(scope, receive, send)
            return

        # Ask the store, off the event loop if it may block on I/O.
        bucket = self.limiter.config.bucket_for(user)
        policy = self._policy_field(bucket)
        number, now = next(self._requests), self._clock()
        try:
            if self.in_thread:
                decision = await asyncio.to_thread(self.limiter.check, user, now)
            else:
                decision = self.limiter.check(user, now)
        except StorageError as error:
            self._failed(error, number, now)
            if self.on_store_error == "allow":
                await self.app(scope, receive, _adding(send, [policy]))
            else:
                body = {"error": "store unavailable"}
                await _respond(send, 503, body, [policy])
            return
        self._answered(number, now)

        # Answer: the application's response with the fields, or a 429 of our own.
        fields = [policy, self._limit_field(decision, bucket)]
        if decision.allowed:
            await self.app(scope, receive, _adding(send, fields))
            return
        retry_after = math.ceil(decision.retry_after)
        fields.append((b"retry-after", str(retry_after).encode("ascii")))
        await _respond(send, 429, self._denied_body(decision, retry_after), fields)

    def _excluded(self, path: str) -> bool:
        return path in self.exclude or path.startswith(self.exclude_prefixes)

    def _policy_field(self, bucket: BucketConfig) -> Header:
        """``RateLimit-Policy``: the quota is the capacity, the window its refill."""
        quota = math.floor(bucket.capacity)
        window = math.ceil(Fraction(bucket.capacity) / Fraction(bucket.refill_rate))
        value = f"{self._policy_name};q={_sf_integer(quota)};w={_sf_integer(window)}"
        return b"ratelimit-policy", value.encode("ascii")

    def _limit_field(self, decision: Decision, bucket: BucketConfig) -> Header:
        """``RateLimit``: whole tokens left, and the seconds until one more is back.

        Until then the user can make no more than ``r`` requests however they
        time them; for a denied request that is exactly its retry after.
        """
        remaining = math.floor(decision.remaining)
        missing = remaining + 1 - decision.remaining
        window = math.ceil(missing / Fraction(bucket.refill_rate))
        value = (
            f"{self._policy_name};r={_sf_integer(remaining)};t={_sf_integer(window)}"
        )
        return b"ratelimit", value.encode("ascii")

    def _failed(self, error: StorageError, number: int, now: Time) -> None:
        self._failed_request = max(self._failed_request, number)
        if self._outage is None:
            self._outage = error.store, now
            doing = (
                "letting requests through"
                if self.on_store_error == "allow"
                else "refusing requests with 503"
            )
            self._report(f"{error}; {doing} until it is back")

    def _answered(self, number: int, now: Time) -> None:
        if self._outage is not None and number > self._failed_request:
            (store, since), self._outage = self._outage, None
            lasted = float(Fraction(now) - Fraction(since))
            self._report(f"{store} is back after {lasted:.1f} s")

    def __repr__(self) -> str:
        return (
            f"RateLimitMiddleware(app={self.app!r}, limiter={self.limiter!r}, "
            f"policy={self.policy!r}, on_store_error={self.on_store_error!r}, "
            f"exclude={sorted(self.exclude)!r}, "
            f"exclude_prefixes={list(self.exclude_prefixes)!r}, "
            f"in_thread={self.in_thread!r})"
        )


def _adding(send: Send, fields: list[Header]) -> Send:
    """``send``, with ``fields`` added to the response's start."""

    async def send_with_fields(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", ()), *fields]
            message = {**message, "headers": headers}
        await send(message)

    return send_with_fields


async def _respond(send: Send, status: int, body: object, fields: list[Header]) -> None:
    content = json.dumps(body, separators=(",", ":")).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode("ascii")),
        *fields,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _sf_string(text: str) -> str:
    """``text`` as a structured-field String: quoted, with ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sf_integer(number: int) -> int:
    # A bucket may be larger than a field can say; the largest it can say is shown.
    return min(number, _LARGEST_SF_INTEGER)
