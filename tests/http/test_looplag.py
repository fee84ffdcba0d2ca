"""The event loop monitor (gongzhi/http/looplag.py): a callback that holds the loop — by CPU or by a blocking
call — is reported as held time; a free loop is not."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from prometheus_client import REGISTRY

from gongzhi.http import looplag


def _held_over(seconds: float) -> tuple[float, float]:
    """The monitor's wakes so far, and those that found the loop held longer than ``seconds``."""
    total = REGISTRY.get_sample_value("gongzhi_event_loop_held_seconds_count") or 0.0
    under = REGISTRY.get_sample_value("gongzhi_event_loop_held_seconds_bucket", {"le": str(seconds)}) or 0.0
    lag = REGISTRY.get_sample_value("gongzhi_event_loop_lag_seconds_count") or 0.0
    assert lag == total
    return total, total - under


async def _wakes(n: float) -> None:
    """Until the monitor has woken ``n`` times in all (however slowly a busy machine runs this process)."""
    for _ in range(6000):
        if _held_over(0.25)[0] >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the monitor did not wake {n} times in a minute")


async def _watch(hold: float, how: str) -> tuple[float, float]:
    before = _held_over(0.25)
    task = asyncio.create_task(looplag.monitor(interval=0.02))
    await _wakes(before[0] + 3)
    if how == "sleep":
        time.sleep(hold)  # noqa: ASYNC251  # a blocking call on the loop: what the monitor must see
    else:
        t0 = time.thread_time()
        while time.thread_time() - t0 < hold:  # CPU on the loop
            pass
    await _wakes(_held_over(0.25)[0] + 3)
    task.cancel()
    after = _held_over(0.25)
    return after[0] - before[0], after[1] - before[1]


async def test_a_blocking_call_on_the_loop_is_held_time() -> None:
    wakes, held = await _watch(0.4, "sleep")
    assert wakes >= 6 and held == 1


async def test_cpu_on_the_loop_is_held_time() -> None:
    wakes, held = await _watch(0.4, "cpu")
    assert wakes >= 6 and held == 1


async def test_a_free_loop_is_not_held() -> None:
    wakes, held = await _watch(0.0, "cpu")
    assert wakes >= 6 and held == 0


@pytest.mark.skipif(sys.platform != "linux", reason="schedstat is Linux's")
def test_the_run_queue_wait_is_read() -> None:
    waited = looplag.runqueue_wait()
    assert waited is not None and waited >= 0
