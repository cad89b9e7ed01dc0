"""The errors the limiter raises: one small tree, each carrying its exit status."""

from __future__ import annotations

__all__ = ["InvalidInput", "LimiterError", "MissingFile", "StorageError"]


class LimiterError(Exception):
    """Base of every error the limiter raises on purpose.

    ``exit_status`` is what the command line exits with when this error stops it.
    """

    exit_status = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(LimiterError):
    """Input that breaks the contract: a bad configuration, request or option.

    ``where`` names the place (a file, a JSON path such as ``requests[3].time``,
    an option such as ``--time`` or a trace line); ``value`` is what was found
    there and ``expected`` says what is accepted.
    """

    exit_status = 1

    def __init__(self, where: str, problem: str, value: object = None) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem
        self.value = value

    def within(self, outer: str) -> InvalidInput:
        """Return the same error with ``outer`` (say, a file name) put in front."""
        where = f"{outer}: {self.where}" if self.where else outer
        return InvalidInput(where, self.problem, self.value)

    def __repr__(self) -> str:
        return f"InvalidInput(where={self.where!r}, problem={self.problem!r})"


class MissingFile(LimiterError):
    """A file named on the command line does not exist."""

    exit_status = 2

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: no such file")
        self.path = path


class StorageError(LimiterError):
    """The store that keeps bucket state failed: it cannot be reached, read or written.

    ``store`` names it (a Redis URL, an SQLite file) and ``problem`` says what
    went wrong. No decision was made for the request that met the failure.
    """

    exit_status = 3

    def __init__(self, store: str, problem: str) -> None:
        super().__init__(f"{store}: {problem}")
        self.store = store
        self.problem = problem

    def __repr__(self) -> str:
        return f"StorageError(store={self.store!r}, problem={self.problem!r})"
