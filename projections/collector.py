"""Python's cyclic garbage collector during batch work (a rebuild, `audit verify`).

A batch holds tens of thousands of decoded events and rows alive at once, and with the default
thresholds (a collection every 700 net allocations) the collector walks them again and again:
a third of a rebuild's CPU time (bench/rebuild.py, measured with and without). Our events form
no reference cycles, so collecting rarely frees nothing later than collecting often would.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A young-generation collection every 20,000 net allocations instead of 700; the older
# generations 50 and 10 times rarer still (measured best of a few on figure (b)'s rebuild).
BATCH_THRESHOLDS = (20_000, 50, 10)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Rarer collections while the block runs; the thresholds before it afterwards. For a
    process doing batch work, not for one serving requests in other threads meanwhile."""
    before = gc.get_threshold()
    gc.set_threshold(*BATCH_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
