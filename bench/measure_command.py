"""Run one command; print its wall and CPU seconds and peak memory, as JSON.

    python bench/measure_command.py COMMAND [ARGUMENT ...]

The command's stdout goes to /dev/null and its stderr is passed through. Its
exit status is reported, not raised.

Why a process of its own: Linux counts in a child's peak RSS the memory of the
process it was forked from, up to the moment it runs its program. A child of
the benchmark, which holds its workloads, would report at least their size;
forked from this small process instead, it reports its own peak.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(command: list[str]) -> int:
    """Run ``command``; print its seconds, CPU seconds, peak RSS and exit status."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: answers to /dev/null, then the command itself
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        try:
            os.execvp(command[0], command)
        except OSError as error:
            print(f"cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127)

    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    measured = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports kibibytes
        "status": os.waitstatus_to_exitcode(status),
    }
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
