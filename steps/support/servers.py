"""Servers that tests run for themselves: a private ``redis-server`` on loopback.

``RedisServer`` starts ``redis-server`` on a free port of 127.0.0.1, with no
persistence and a folder of its own, and waits until it answers PING. It can be
stopped and started again on the same port, so a test can watch a store meet a
server that went away or came back empty. It speaks to the server over a plain
socket, so it needs no Redis client library.

There is no fallback: without ``redis-server`` the helper raises, and a test that
needs it fails rather than being skipped.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

__all__ = ["RedisServer", "ServerUnavailable"]

_HOST: Final = "127.0.0.1"
_START_TIMEOUT: Final = 10.0  # seconds to wait for a starting server's PONG
_STOP_TIMEOUT: Final = 10.0  # seconds to wait for a stopping server to exit
_POLL: Final = 0.01
_INSTALL_HINT: Final = (
    "redis-server is not on PATH; the Redis tests need it: install it with "
    "`apt-get install redis-server` (Debian, Ubuntu) or your system's package, "
    "or point LIMITER_TEST_REDIS_URL at a running server"
)


class ServerUnavailable(RuntimeError):
    """A test server could not be found, started or stopped."""


class RedisServer:
    """A ``redis-server`` of this test run on ``127.0.0.1:port``.

    Started on construction; ``stop()`` shuts it down (dropping all its data),
    ``start()`` brings it back on the same port, ``close()`` stops it for good
    and removes its folder. Also a context manager.
    """

    port: int
    url: str

    def __init__(self, executable: str = "redis-server") -> None:
        found = shutil.which(executable)
        if found is None:
            raise ServerUnavailable(_INSTALL_HINT)
        self._executable = found
        self._folder = Path(tempfile.mkdtemp(prefix="limiter-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.port = _free_port()
        self.url = f"redis://{_HOST}:{self.port}/0"
        self.start()

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server on its port (again) and wait until it answers PING."""
        if self.running:
            return
        log = self._folder / "redis.log"
        command = [
            self._executable,
            "--bind",
            _HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._folder),
            "--logfile",
            str(log),
            "--daemonize",
            "no",
        ]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._kill()
                tail = log.read_text("utf-8", "replace")[-2000:] if log.exists() else ""
                raise ServerUnavailable(
                    f"redis-server did not start on port {self.port}:\n{tail}"
                )
            time.sleep(_POLL)

    def stop(self) -> None:
        """Shut the server down without saving, and wait until it has exited."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                _send(self.port, b"SHUTDOWN NOSAVE\r\n")
            except OSError:
                process.terminate()
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
        self._process = None

    def close(self) -> None:
        """Stop the server for good and remove its folder."""
        self.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RedisServer(url={self.url!r}, {state})"


def _free_port() -> int:
    """A port of the loopback address no one listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _send(port: int, command: bytes) -> bytes:
    """Send one inline command and return the first bytes of the answer."""
    with socket.create_connection((_HOST, port), timeout=1.0) as connection:
        connection.sendall(command)
        try:
            return connection.recv(64)
        except ConnectionError:  # SHUTDOWN closes the connection without answer
            return b""


def _answers_ping(port: int) -> bool:
    try:
        return _send(port, b"PING\r\n").startswith(b"+PONG")
    except OSError:
        return False
