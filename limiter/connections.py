"""One connection per thread to a shared store, safe across ``fork``.

``SQLiteStore`` and ``RedisStore`` keep their connections alike: each thread
opens its own on its first request and keeps it; a thread that ends leaves its
connection to be closed when another thread opens one; a process made by
``fork`` opens its own rather than send on its parent's, which it never touches,
not even to close it. ``ThreadConnections`` is that bookkeeping, and nothing of
how a connection is opened or used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ThreadConnections"]

Connection = TypeVar("Connection")


class ThreadConnections(Generic[Connection]):
    """The connections of this process's threads, each thread's its own.

    ``close_all`` is the store's function that closes a batch of connections.
    """

    __slots__ = ("_close_all", "_inherited", "_local", "_lock", "_opened", "_pid")

    def __init__(self, close_all: Callable[[list[Connection]], None]) -> None:
        self._close_all = close_all
        self._local = threading.local()  # .connection: the thread's own
        self._lock = threading.Lock()  # guards _opened
        self._opened: list[tuple[threading.Thread, Connection]] = []
        self._inherited: list[Connection] = []
        self._pid = os.getpid()

    def current(self) -> Connection | None:
        """This thread's connection, or ``None`` if it has none yet."""
        if self._pid != os.getpid():
            self._forget_parent()
        connection: Connection | None = getattr(self._local, "connection", None)
        return connection

    def keep(self, connection: Connection) -> None:
        """Make ``connection``, just opened, this thread's own."""
        # A program that starts many short threads would otherwise pile up
        # connections: those of threads that have ended are closed here.
        with self._lock:
            ended = [old for thread, old in self._opened if not thread.is_alive()]
            self._opened = [pair for pair in self._opened if pair[0].is_alive()]
            self._opened.append((threading.current_thread(), connection))
        self._local.connection = connection
        if ended:
            self._close_all(ended)

    def drop(self, connection: Connection) -> None:
        """Forget this thread's ``connection`` and close it; the next is new."""
        self._local.connection = None
        with self._lock:
            self._opened = [pair for pair in self._opened if pair[1] is not connection]
        self._close_all([connection])

    def close(self) -> None:
        """Close every thread's connection; each thread later opens a new one."""
        if self._pid != os.getpid():
            self._forget_parent()
        with self._lock:
            opened, self._opened = self._opened, []
            self._local = threading.local()
        self._close_all([connection for _, connection in opened])

    def __len__(self) -> int:
        """How many connections this process holds open."""
        return len(self._opened)

    def _forget_parent(self) -> None:
        # The parent's connections are its own: the child must not send on them,
        # nor close them, which would end the parent's session too. They are kept,
        # unused, as long as the store. The lock may have been held by a thread
        # that fork left behind.
        self._inherited.extend(connection for _, connection in self._opened)
        self._opened = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"ThreadConnections(open={len(self)})"
