"""A small HTTP API behind the rate limiter: five requests at once, then one a second.

Run it from the repository's root, then ask it with curl:

    .venv/bin/python docs/example_app.py            # serves http://127.0.0.1:8000
    curl -i -H 'X-API-Key: alice' http://127.0.0.1:8000/hello

Each API key is a user with its own bucket (requests without one are counted by
their client's address); the key ``premium`` gets ten tokens at once and five a
second. ``/health`` is never limited. ``--state FILE`` keeps the buckets in an
SQLite file, so that several server processes share them.
"""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn

from limiter import Limiter, LimiterError, SQLiteStore
from limiter.asgi import RateLimitMiddleware, Receive, Scope, Send, client_address

CONFIG = {
    "default": {"capacity": 5, "refill_rate": 1},
    "users": {"key:premium": {"capacity": 10, "refill_rate": 5}},
}


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """The application: answers every HTTP request with a JSON greeting."""
    if scope["type"] != "http":
        return
    body = json.dumps({"hello": scope["path"]}).encode("utf-8")
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def api_key(scope: Scope) -> str:
    """The user of a request: its ``X-API-Key`` header, else its client's address."""
    for name, value in scope["headers"]:
        if name == b"x-api-key" and value:
            return "key:" + str(value.decode("latin-1"))
    return "address:" + client_address(scope)


def build(state: str | None = None) -> RateLimitMiddleware:
    """The limited application, its buckets in memory or in an SQLite file."""
    store = None if state is None else SQLiteStore(state)
    limiter = Limiter.from_config(CONFIG, store)
    return RateLimitMiddleware(hello, limiter, user_key=api_key, exclude={"/health"})


def main(argv: list[str] | None = None) -> int:
    """Serve the example on ``--host`` and ``--port`` until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--state", help="an SQLite file for the buckets")
    options = parser.parse_args(argv)
    try:
        app = build(options.state)
    except LimiterError as error:  # a state file that cannot be used, say
        print(f"example_app: {error}", file=sys.stderr)
        return error.exit_status
    uvicorn.run(app, host=options.host, port=options.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
