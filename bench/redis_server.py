"""A redis-server of the benchmark's own, and what it counts of its work.

``running`` starts ``redis-server`` on a free port of 127.0.0.1, saving nothing
to disk, and stops it when the block ends, however it ends: on an exception, on
Ctrl-C, on SIGTERM (bench/run.py turns it into an exception) and, on Linux,
when the benchmark is killed outright, since the server is told to take SIGTERM
when its parent dies.

``Counters`` reads, from the server's INFO, what a run cost it: the CPU time it
spent and the socket reads it made. A client that sends one request and waits
for the answer makes the server read once a request, so reads count round trips.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["Counters", "running"]

START_TIMEOUT: Final = 5.0  # seconds redis-server has to answer its first PING
STOP_TIMEOUT: Final = 5.0  # seconds it has to exit once told to
_PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Counters:
    """The server's CPU seconds (user and system) and socket reads, so far."""

    cpu_seconds: float
    reads: int

    @classmethod
    def read(cls, admin: Any) -> Counters:
        """The counters now, asked on the ``admin`` connection (one read itself)."""
        cpu = admin.info("cpu")
        reads = admin.info("stats")["total_reads_processed"]
        return cls(cpu["used_cpu_user"] + cpu["used_cpu_sys"], reads)

    def since(self, earlier: Counters) -> Counters:
        """What the server did between ``earlier`` and this reading.

        Reading the counters costs two reads of its own (INFO cpu, INFO stats),
        which are taken off again.
        """
        reads = self.reads - earlier.reads - 2
        return Counters(self.cpu_seconds - earlier.cpu_seconds, reads)


@contextlib.contextmanager
def running(executable: str, folder: Path) -> Iterator[str]:
    """A redis-server on a free loopback port for the block; yields its URL.

    Its log goes to ``folder``; the last line of it explains a failed start.
    """
    import redis

    port = _free_port()
    options = ["--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    options += ["--appendonly", "no", "--dir", str(folder), "--daemonize", "no"]
    log_path = folder / "redis-server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [executable, *options],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_dying_with_parent(),  # noqa: PLW1509 (no threads run yet)
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    said = log_path.read_text(errors="replace").strip().splitlines()
                    last = said[-1] if said else "no message"
                    problem = f"did not start on port {port}: {last}"
                    raise RuntimeError(problem) from None
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _dying_with_parent() -> Callable[[], None] | None:
    """On Linux, what makes the server take SIGTERM when the benchmark dies.

    Run in the child between fork and exec, so that even a benchmark killed with
    SIGKILL leaves no server behind.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def ask() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return ask
