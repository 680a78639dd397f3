"""Alternated timing for bench/ scripts: sides run A B A B ..., each with its spread and peak RSS.

Running every repeat of one side before the other lets caches, the page cache and the machine's
load favour one side; alternating gives both the same conditions. Peak RSS of a call is sampled
from /proc/self/statm every 5 ms while it runs (the whole process: Python, DuckDB, the data the
script holds), so it is comparable between sides of one run, not an exact per-call allocation.
CPU is the least process CPU time (every thread) over a side's runs, the steadier figure
when other jobs load the machine: wall time then measures the wait for a core as well.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


@dataclass
class Side:
    """The measurements of one side: wall seconds of each run and the peak RSS seen."""

    name: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU seconds (all threads) per run
    peak_rss: int = 0

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """max - min of the run times, in seconds."""
        return max(self.times) - min(self.times)

    def line(self, ref: Side | None = None) -> str:
        ratio = (f"  {self.best / ref.best:5.2f}x (median {self.median / ref.median:.2f}x, "
                 f"CPU {min(self.cpu) / min(ref.cpu):.2f}x)") \
            if ref is not None and ref is not self else ""
        return (f"{self.name:30s} best {self.best:7.2f} s  median {self.median:7.2f} s  "
                f"spread {self.spread:5.2f} s  CPU {min(self.cpu):7.2f} s  "
                f"peak RSS {self.peak_rss / 2**20:6.0f} MB{ratio}")


def _timed(fn: Callable[[], object]) -> tuple[float, float, int]:
    peak = [rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], rss_bytes())

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        fn()
    finally:
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        done.set()
        t.join()
    return elapsed, cpu, max(peak[0], rss_bytes())


def alternate(sides: dict[str, Callable[[], object]], repeat: int) -> dict[str, Side]:
    """Run the callables ``repeat`` rounds, each round every side once in the given order
    (A B A B ...); returns each side's times and peak RSS."""
    out = {name: Side(name) for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            elapsed, cpu, peak = _timed(fn)
            out[name].times.append(elapsed)
            out[name].cpu.append(cpu)
            out[name].peak_rss = max(out[name].peak_rss, peak)
    return out


def load_average() -> str:
    """The 1, 5 and 15 minute load averages and the number of CPUs, for the printout."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cpus"
