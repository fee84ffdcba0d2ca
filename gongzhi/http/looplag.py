"""How long the event loop was held (issues #10 and #24): two histograms on /metrics.

Every request of a process waits while one callback holds its event loop — a document validated on the
loop used to hold it 1.5–2.5 s (gongzhi/http/documents.py). A task on the loop wakes every ``INTERVAL``
seconds and records, for the gap since its last wake:

- ``gongzhi_event_loop_lag_seconds``: how late it woke (wall clock) — what any request of the process
  waited for the loop, whatever the reason;
- ``gongzhi_event_loop_held_seconds``: that lateness less the time the loop's thread was ready to run but
  had no CPU (the kernel's run-queue wait, ``/proc/thread-self/schedstat``) — what the process itself held
  the loop for (a long callback, a blocking call, the interpreter lock held by another thread), not a
  machine too busy to run it. Where schedstat is missing (not Linux), the same as the lag.

A lag without held time is the machine's (too few cores for the load); held time is the code's. Ten
wakes a second: a few microseconds each. Started with the app (gongzhi/http/app.py) when metrics are on.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Histogram

INTERVAL = 0.1
_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
LAG = Histogram("gongzhi_event_loop_lag_seconds", "how late the event loop ran a timer (wall clock)",
                buckets=_BUCKETS)
HELD = Histogram("gongzhi_event_loop_held_seconds", "event loop lag not explained by waiting for a CPU: "
                 "what the process itself held the loop for", buckets=_BUCKETS)


def runqueue_wait() -> float | None:
    """Seconds this thread has spent ready to run but waiting for a CPU, or None where unknown."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


async def monitor(interval: float = INTERVAL) -> None:
    """Observe the loop's lag and held time every ``interval`` seconds until cancelled."""
    last, waited = time.monotonic(), runqueue_wait()
    while True:
        await asyncio.sleep(interval)
        now, waits = time.monotonic(), runqueue_wait()
        lag = max(0.0, now - last - interval)
        LAG.observe(lag)
        HELD.observe(lag if waits is None or waited is None else max(0.0, lag - (waits - waited)))
        last, waited = now, waits
