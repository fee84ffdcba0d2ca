"""Start-up without the cyclic garbage collector (issue #21).

Importing the app and building it make some 200 000 long-lived objects (the models, the strawberry
types, the schema) and almost no garbage; the collector, run every 700 allocations, walked that
growing heap some 470 times while they were made: ≈ 0.17 s of the imports' CPU and ≈ 0.1 s of
``create_app``'s (a third of it). Paused there, the one full collection the lifespan makes before
``gc.freeze()`` clears what little garbage there is. The imports' objects are frozen as soon as they
are made (the first young-generation pass would walk them all otherwise); the ≈ 700 unreachable
ones among their 300 000 stay, once per process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused(*, freeze: bool = False) -> Iterator[None]:
    """No automatic collection inside; back on after, unless it was off before (a caller's choice).
    ``freeze``: what was made inside (and everything older) is moved out of the collector's reach
    when it is back on, so its first young-generation pass does not walk it all once more — for what
    lives as long as the process, made once (the imports), never per call."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        gc.enable()
