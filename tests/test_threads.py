"""One limiter shared by many threads decides as if requests came one at a time."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from limiter import Limiter

THREADS = 8
CAPACITY = 1000


@pytest.fixture(autouse=True)
def switch_threads_often() -> Iterator[None]:
    """Let the interpreter switch threads every microsecond, so races show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def run_together(work: Callable[[], Counter[str]]) -> Counter[str]:
    """Run ``work`` on THREADS threads released at once; add up their counts."""
    start = threading.Barrier(THREADS)
    results: list[Counter[str]] = []

    def worker() -> None:
        start.wait()
        results.append(work())

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == THREADS, "a worker thread failed"
    return sum(results, Counter())


def test_one_user_hammered_by_eight_threads_is_allowed_exactly_capacity() -> None:
    # Nothing refills at a fixed instant: exactly the 1000 tokens can be taken.
    limiter = Limiter.from_config({"default": {"capacity": CAPACITY, "refill_rate": 1}})

    def work() -> Counter[str]:
        check = limiter.check
        return Counter("alice" for _ in range(10_000) if check("alice", 0).allowed)

    allowed = run_together(work)

    assert allowed == Counter({"alice": CAPACITY})


def test_a_thousand_users_each_get_exactly_their_capacity() -> None:
    limiter = Limiter.from_config({"default": {"capacity": CAPACITY, "refill_rate": 1}})
    users = [f"user-{number}" for number in range(1000)]
    rounds = 160  # each user is asked for 8 x 160 = 1280 tokens, more than it has

    def work() -> Counter[str]:
        check = limiter.check
        allowed: Counter[str] = Counter()
        for _ in range(rounds):
            for user in users:
                if check(user, 0).allowed:
                    allowed[user] += 1
        return allowed

    allowed = run_together(work)

    assert allowed == Counter(dict.fromkeys(users, CAPACITY))
