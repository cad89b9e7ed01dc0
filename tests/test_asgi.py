"""The ASGI middleware, served by a real uvicorn on loopback and asked with httpx.

Every request's time comes from a clock the test holds still or moves by hand,
so no test sleeps for a bucket to refill. The fields are read back with
``http_sf``, a structured-field parser of its own, against the draft's syntax.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import http_sf
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from limiter import InvalidInput, Limiter, MemoryStore, RedisStore, SQLiteStore
from limiter.asgi import ASGIApp, RateLimitMiddleware, Receive, Scope, Send
from limiter.errors import StorageError
from steps.support.servers import RedisServer

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT = 10.0  # seconds for a server to start answering
POLL = 0.01
CONFIG = {
    "default": {"capacity": 5, "refill_rate": 1},
    "users": {"bob": {"capacity": "2.5", "refill_rate": "0.4"}},
}


class Clock:
    """The time of every request, in seconds: held still until the test moves it."""

    def __init__(self, now: Fraction | int = 0) -> None:
        self.now = Fraction(now)

    def __call__(self) -> Fraction:
        return self.now


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI application: 200 and ``hello`` for every HTTP request."""
    assert scope["type"] == "http"
    headers = [(b"content-type", b"text/plain"), (b"x-app", b"yes")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


def by_header(scope: Scope) -> str | None:
    """The user named by the request's ``X-User`` header; none for no header."""
    for name, value in scope["headers"]:
        if name == b"x-user":
            return str(value.decode("ascii"))
    return None


def middleware(
    app: ASGIApp = hello, store: Any = None, **options: Any
) -> RateLimitMiddleware:
    """``app`` limited by CONFIG over ``store``, each user named by ``X-User``."""
    options.setdefault("user_key", by_header)
    options.setdefault("clock", Clock())
    return RateLimitMiddleware(app, Limiter.from_config(CONFIG, store), **options)


@contextmanager
def serving(
    app: ASGIApp, lifespan: Literal["auto", "on", "off"] = "off"
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, host=HOST, port=port, lifespan=lifespan, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(POLL)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        listener.close()


def fields(response: httpx.Response) -> tuple[Any, Any]:
    """``RateLimit-Policy`` and ``RateLimit``, parsed as structured-field Lists."""
    policy = http_sf.parse(response.headers["ratelimit-policy"].encode(), tltype="list")
    limit = http_sf.parse(response.headers["ratelimit"].encode(), tltype="list")
    return policy, limit


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Each store in turn: memory, an SQLite file, a Redis server (own prefix)."""
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "buckets.db") as sqlite:
            yield sqlite
    else:
        url = request.getfixturevalue("redis_url")
        # The tests' clocks stand still, slower than real time: keys are kept.
        prefix = f"asgi-{uuid.uuid4().hex}"
        with RedisStore(url, prefix=prefix, expire=False) as redis:
            yield redis


# The fields and the answers ---------------------------------------------------------

# (user, time, status, RateLimit r, RateLimit t, Retry-After): alice has 5 tokens
# and gains 1 a second; bob has 2.5 and gains 0.4, so 6.25 s refill him whole.
TIMELINE: list[tuple[str, Fraction | int, int, int, int, str | None]] = [
    ("alice", 0, 200, 4, 1, None),
    ("alice", 0, 200, 3, 1, None),
    ("alice", 0, 200, 2, 1, None),
    ("alice", 0, 200, 1, 1, None),
    ("alice", 0, 200, 0, 1, None),
    ("alice", 0, 429, 0, 1, "1"),
    ("alice", Fraction(1, 2), 429, 0, 1, "1"),  # half a token back: 0.5 s to go
    ("alice", 1, 200, 0, 1, None),
    ("bob", 1, 200, 1, 2, None),  # 1.5 tokens left: 1.25 s until 2
    ("bob", 1, 200, 0, 2, None),  # 0.5 left: 1.25 s until 1
    ("bob", 1, 429, 0, 2, "2"),
    ("bob", Fraction(9, 4), 200, 0, 3, None),  # exactly 1 back, now 0: 2.5 s
]
POLICIES = {
    "alice": [("default", {"q": 5, "w": 5})],
    "bob": [("default", {"q": 2, "w": 7})],
}


def test_each_response_carries_the_drafts_fields_with_each_store(store: Any) -> None:
    clock = Clock()
    with serving(middleware(store=store, clock=clock)) as url, httpx.Client() as http:
        for user, now, status, remaining, window, retry_after in TIMELINE:
            clock.now = Fraction(now)
            response = http.get(f"{url}/work", headers={"X-User": user})
            where = f"{user} at {now} s"
            assert response.status_code == status, where
            policy, limit = fields(response)
            assert policy == POLICIES[user], where
            assert limit == [("default", {"r": remaining, "t": window})], where
            assert response.headers.get("retry-after") == retry_after, where
            if status == 200:
                assert (response.text, response.headers["x-app"]) == ("hello", "yes")


def test_the_fields_are_written_as_the_draft_shows_them() -> None:
    with serving(middleware()) as url:
        response = httpx.get(f"{url}/", headers={"X-User": "alice"})
    assert response.headers["ratelimit-policy"] == '"default";q=5;w=5'
    assert response.headers["ratelimit"] == '"default";r=4;t=1'


def test_a_denied_request_gets_a_json_body_and_retry_after_rounded_up() -> None:
    clock = Clock()
    with serving(middleware(clock=clock)) as url, httpx.Client() as http:
        for _ in range(5):
            http.get(url, headers={"X-User": "alice"})
        clock.now = Fraction(1, 10)  # 0.1 token back: 0.9 s to wait
        response = http.get(url, headers={"X-User": "alice"})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "rate limited", "retry_after": 1}
    assert response.headers["retry-after"] == "1"
    assert fields(response)[1] == [("default", {"r": 0, "t": 1})]


def test_a_whole_retry_after_is_not_rounded_past_itself() -> None:
    # One token, half a token a second: the second request waits exactly 2 s.
    limiter = Limiter.from_config({"default": {"capacity": 1, "refill_rate": "0.5"}})
    app = RateLimitMiddleware(hello, limiter, user_key=by_header, clock=Clock())
    with serving(app) as url, httpx.Client() as http:
        first, second = (http.get(url, headers={"X-User": "carol"}) for _ in range(2))
    assert first.headers["ratelimit-policy"] == '"default";q=1;w=2'
    assert first.headers["ratelimit"] == '"default";r=0;t=2'
    assert (second.status_code, second.headers["retry-after"]) == (429, "2")
    assert second.headers["ratelimit"] == '"default";r=0;t=2'


def test_the_denied_body_is_the_applications_choice() -> None:
    def body(decision: Any, retry_after: int) -> object:
        return {"decision": decision.decision, "wait": retry_after, "exact": "yes"}

    app = middleware(denied_body=body)
    with serving(app) as url, httpx.Client() as http:
        answers = [http.get(url, headers={"X-User": "bob"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json() == {"decision": "DENY", "wait": 2, "exact": "yes"}


def test_concurrent_clients_of_one_user_are_allowed_exactly_the_capacity(
    store: Any,
) -> None:
    # Four clients make 25 requests each for alice, all at time 0: her 5 tokens.
    app = middleware(store=store)

    def client(url: str) -> list[int]:
        with httpx.Client() as http:
            headers = {"X-User": "alice"}
            return [http.get(url, headers=headers).status_code for _ in range(25)]

    with serving(app) as url, ThreadPoolExecutor(4) as pool:
        statuses = [s for answers in pool.map(client, [url] * 4) for s in answers]
    assert (statuses.count(200), statuses.count(429)) == (5, 95)


def test_concurrent_tasks_of_many_users_each_get_their_own_capacity() -> None:
    async def ask(http: httpx.AsyncClient, url: str, user: str) -> int:
        response = await http.get(url, headers={"X-User": user})
        return response.status_code

    async def run(url: str) -> list[tuple[str, int]]:
        users = [f"user{n}" for n in range(4) for _ in range(8)]
        async with httpx.AsyncClient() as http:
            statuses = await asyncio.gather(*(ask(http, url, user) for user in users))
        return list(zip(users, statuses, strict=True))

    with serving(middleware()) as url:
        answers = asyncio.run(run(url))
    for n in range(4):
        mine = [status for user, status in answers if user == f"user{n}"]
        assert (mine.count(200), mine.count(429)) == (5, 3), f"user{n}"


# Who is limited, and what is not ---------------------------------------------------


def test_excluded_paths_are_neither_counted_nor_given_fields() -> None:
    app = middleware(exclude={"/health"}, exclude_prefixes=("/static/",))
    with serving(app) as url, httpx.Client(base_url=url) as http:
        free = ["/health", "/static/a.css", "/static/b/c.js"] * 3
        for path in free:
            response = http.get(path, headers={"X-User": "bob"})
            assert response.status_code == 200, path
            assert "ratelimit" not in response.headers, path
        limited = [http.get(p, headers={"X-User": "bob"}) for p in ["/healthz"] * 3]
    assert [response.status_code for response in limited] == [200, 200, 429]


def test_a_request_the_key_names_no_user_for_is_not_limited() -> None:
    with serving(middleware()) as url, httpx.Client() as http:
        answers = [http.get(url) for _ in range(8)]
    assert {answer.status_code for answer in answers} == {200}
    assert not any("ratelimit" in answer.headers for answer in answers)


def test_by_default_the_user_is_the_clients_address() -> None:
    app = RateLimitMiddleware(hello, Limiter.from_config(CONFIG), clock=Clock())
    with serving(app) as url, httpx.Client() as http:
        statuses = [
            http.get(url, headers={"X-User": "x"}).status_code for _ in range(7)
        ]
    assert statuses == [200] * 5 + [429] * 2


def test_lifespan_and_websocket_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await hello(scope, receive, send)

    with serving(middleware(app), lifespan="on") as url:
        assert httpx.get(url, headers={"X-User": "alice"}).status_code == 200
    assert seen == ["lifespan", "http"]

    # A websocket scope reaches the application as it came, with the same callables.
    passed: list[tuple[Scope, Receive, Send]] = []

    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append((scope, receive, send))

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        pass

    scope = {"type": "websocket", "path": "/ws", "headers": [(b"x-user", b"alice")]}
    asyncio.run(middleware(recorder)(scope, receive, send))
    [(scope_passed, receive_passed, send_passed)] = passed
    assert scope_passed is scope
    assert (receive_passed, send_passed) == (receive, send)


# Under frameworks -------------------------------------------------------------------


def test_under_starlette() -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("home")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(
        RateLimitMiddleware,
        limiter=Limiter.from_config(CONFIG),
        user_key=by_header,
        clock=Clock(),
    )
    with serving(app, lifespan="on") as url, httpx.Client() as http:
        answers = [http.get(url, headers={"X-User": "bob"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[0].text == "home"
    assert answers[0].headers["ratelimit"] == '"default";r=1;t=2'


def test_under_fastapi() -> None:
    app = FastAPI()

    @app.get("/items/{item}")
    async def item(item: int) -> dict[str, int]:
        return {"item": item}

    app.add_middleware(
        RateLimitMiddleware,
        limiter=Limiter.from_config(CONFIG),
        user_key=by_header,
        clock=Clock(),
        policy="per-user",
    )
    with serving(app, lifespan="on") as url, httpx.Client() as http:
        answers = [
            http.get(f"{url}/items/7", headers={"X-User": "a"}) for _ in range(6)
        ]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert answers[0].json() == {"item": 7}
    assert answers[4].headers["ratelimit"] == '"per-user";r=0;t=1'
    assert answers[5].headers["ratelimit-policy"] == '"per-user";q=5;w=5'


# A failing store --------------------------------------------------------------------


def limiter_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages logged on the ``limiter`` logger so far."""
    return [
        record.getMessage() for record in caplog.records if record.name == "limiter"
    ]


def test_a_stopped_redis_refuses_requests_with_503_logged_once_per_outage(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="limiter")
    clock = Clock()
    with RedisStore(redis_server.url, prefix="asgi-outage") as redis:
        app = middleware(store=redis, clock=clock)
        with serving(app) as url, httpx.Client() as http:
            assert http.get(url, headers={"X-User": "alice"}).status_code == 200

            redis_server.stop()
            clock.now = Fraction(3)
            down = [http.get(url, headers={"X-User": "alice"}) for _ in range(4)]
            messages_while_down = limiter_records(caplog)

            redis_server.start()
            clock.now = Fraction(5)
            back = [http.get(url, headers={"X-User": "alice"}) for _ in range(2)]

    assert [answer.status_code for answer in down] == [503] * 4
    assert down[0].json() == {"error": "store unavailable"}
    assert "ratelimit" not in down[0].headers
    assert down[0].headers["ratelimit-policy"] == '"default";q=5;w=5'
    assert len(messages_while_down) == 1, messages_while_down
    assert messages_while_down[0].startswith(redis.url)
    assert messages_while_down[0].endswith(
        "refusing requests with 503 until it is back"
    )

    # The server came back empty: alice's bucket starts full again.
    assert [answer.status_code for answer in back] == [200, 200]
    assert back[0].headers["ratelimit"] == '"default";r=4;t=1'
    records = limiter_records(caplog)
    assert len(records) == 2, records
    assert records[1] == f"{redis.url} is back after 2.0 s"


def test_a_stopped_redis_can_let_requests_through_instead(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="limiter")
    with RedisStore(redis_server.url, prefix="asgi-allow") as redis:
        app = middleware(store=redis, on_store_error="allow")
        redis_server.stop()
        with serving(app) as url, httpx.Client() as http:
            answers = [http.get(url, headers={"X-User": "bob"}) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 6
    assert {answer.text for answer in answers} == {"hello"}
    assert "ratelimit" not in answers[0].headers
    assert answers[0].headers["ratelimit-policy"] == '"default";q=2;w=7'
    records = limiter_records(caplog)
    assert len(records) == 1, records
    assert records[0].endswith("letting requests through until it is back")


class Flaky:
    """A memory store that fails while ``down`` and can hold a request mid-call."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.down = False

    def take(self, user: str, bucket: Any, now: int) -> Any:
        if self.down:
            raise StorageError("flaky://test", "down")
        return self.inner.take(user, bucket, now)


def test_each_outage_is_reported_at_its_start_and_end_only() -> None:
    flaky, reports = Flaky(), list[str]()
    app = middleware(store=flaky, report=reports.append, in_thread=True)
    with serving(app) as url, httpx.Client() as http:
        for down in [False, True, True, False, False, True, False]:
            flaky.down = down
            http.get(url, headers={"X-User": "alice"})
    assert reports == [
        "flaky://test: down; refusing requests with 503 until it is back",
        "flaky://test is back after 0.0 s",
        "flaky://test: down; refusing requests with 503 until it is back",
        "flaky://test is back after 0.0 s",
    ]


# The middleware itself --------------------------------------------------------------


def test_store_calls_run_in_a_thread_for_every_store_but_memory(tmp_path: Path) -> None:
    memory = middleware()
    with SQLiteStore(tmp_path / "b.db") as sqlite:
        assert (memory.in_thread, middleware(store=sqlite).in_thread) == (False, True)
    assert middleware(in_thread=True).in_thread


def test_its_repr_shows_its_configuration() -> None:
    app = middleware(exclude={"/health"}, exclude_prefixes=["/static/"], policy="api")
    text = repr(app)
    assert text.startswith("RateLimitMiddleware(app=<function hello")
    assert "limiter=Limiter(config=" in text
    assert text.endswith(
        "policy='api', on_store_error='refuse', exclude=['/health'], "
        "exclude_prefixes=['/static/'], in_thread=False)"
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "on_store_error",
            "deny",
            "on_store_error: expected one of refuse, allow, found 'deny'",
        ),
        ("policy", "", "policy: expected printable ASCII text, found ''"),
        (
            "policy",
            "caf\u00e9",
            "policy: expected printable ASCII text, found 'caf\u00e9'",
        ),
    ],
)
def test_a_bad_option_is_refused_in_one_line(
    option: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        options: dict[str, Any] = {option: value}
        middleware(**options)
    assert str(raised.value) == message


def test_a_policy_name_is_written_as_a_structured_field_string() -> None:
    with serving(middleware(policy='say "hi" \\ bye')) as url:
        response = httpx.get(url, headers={"X-User": "alice"})
    assert response.headers["ratelimit"] == '"say \\"hi\\" \\\\ bye";r=4;t=1'
    assert fields(response)[1] == [('say "hi" \\ bye', {"r": 4, "t": 1})]


def test_the_core_package_never_loads_the_middleware() -> None:
    command = [sys.executable, "-X", "importtime", "-m", "limiter", "check"]
    result = subprocess.run(
        [*command, "--user", "alice", "--time", "0"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert '"decision": "ALLOW"' in result.stdout
    assert "limiter.asgi" not in result.stderr
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, limiter; print('limiter.asgi' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout == "False\n"


# The example application ------------------------------------------------------------


def test_the_example_application_starts_and_answers() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(REPO_ROOT / "docs" / "example_app.py")]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, "the example stopped before it answered"
            assert time.monotonic() < deadline, "the example did not answer in time"
            try:
                health = httpx.get(f"{url}/health")
                break
            except httpx.TransportError:
                time.sleep(POLL)
        assert health.status_code == 200
        assert "ratelimit" not in health.headers
        with httpx.Client(headers={"X-API-Key": "alice"}) as http:
            answers = [http.get(f"{url}/hello") for _ in range(12)]
        assert answers[0].json() == {"hello": "/hello"}
        assert answers[0].headers["ratelimit-policy"] == '"default";q=5;w=5'
        # The example reads the wall clock: twelve requests made one after another
        # on loopback outrun a refill of one token a second.
        assert 429 in [answer.status_code for answer in answers]
        premium = httpx.get(f"{url}/hello", headers={"X-API-Key": "premium"})
        assert premium.headers["ratelimit-policy"] == '"default";q=10;w=2'
    finally:
        server.terminate()
        server.wait(START_TIMEOUT)
