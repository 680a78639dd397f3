"""How much memory corpusql's buffering kernels may use: one definition for every engine.

A connection's budget (``corpusql.connect(memory_budget=...)``) defaults to
:func:`default_memory_budget`; kernels that encode or buffer whole inputs compare their estimate
with it and fail naming the knob instead of being killed by the kernel's OOM killer or a ulimit.
"""

from __future__ import annotations

import os
import resource


def default_memory_budget() -> int:
    """Bytes a buffering step may use: half of the memory this process can still get.

    The least of half the physical RAM, half the headroom under the address-space ulimit
    (RLIMIT_AS minus the current virtual size) and half the headroom under a cgroup v2 memory
    limit (memory.max minus memory.current).
    """
    page = os.sysconf("SC_PAGE_SIZE")
    room = [os.sysconf("SC_PHYS_PAGES") * page]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        with open("/proc/self/statm") as f:
            room.append(soft - int(f.read().split()[0]) * page)
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            room.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(0, min(room) // 2)
