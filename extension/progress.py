"""Progress and cancellation for long CLI work.

The work runs in a worker thread; the main thread polls DuckDB's ``query_progress()`` and draws
``stage [#####-----] 45%`` on stderr when it is a terminal (never on a pipe, never with
``--quiet``). Ctrl-C in the main thread interrupts the running query (``con.interrupt()``) and
stops Python stages at their next ``stage()`` call, so materialization's own cleanup runs and no
partial output is left.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import duckdb

WIDTH = 30


class Cancelled(KeyboardInterrupt):
    """The user pressed Ctrl-C; the work stopped cleanly."""


class Progress:
    def __init__(self, *, enabled: bool | None = None, stream: TextIO = sys.stderr,
                 interval: float = 0.1) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.interval = interval
        self._stage = ""
        self._con: duckdb.DuckDBPyConnection | None = None
        self._cancelled = threading.Event()
        self._drawn = False

    # -- called from the work ------------------------------------------------------------------
    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Poll this connection's query progress (turns DuckDB's progress tracking on).

        A locked-down connection (a role's) cannot change its settings: its progress is then
        unknown (stages are still shown), and Ctrl-C still interrupts its query."""
        self._con = con
        try:
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
        except duckdb.InvalidInputException as exc:
            if "locked" not in str(exc):
                raise

    def stage(self, name: str) -> None:
        """Name the current stage; raises :class:`Cancelled` if Ctrl-C was pressed."""
        if self._cancelled.is_set():
            raise Cancelled()
        self._stage = name

    # -- called from the main thread -----------------------------------------------------------
    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` in a worker thread, drawing progress until it returns."""
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="corpusql-work", daemon=True)
        # Ctrl-C only sets a flag: a KeyboardInterrupt raised inside a DuckDB call on this
        # thread (query_progress) would leave the connection marked busy.
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: self._cancelled.set())
        try:
            worker.start()
            while worker.is_alive() and not self._cancelled.is_set():
                worker.join(self.interval)
                self._draw()
            if self._cancelled.is_set():
                # Interrupt whatever query runs now, and again while the work winds down (a
                # stage may start a new query before it reaches its next stage() check).
                while worker.is_alive():
                    self._interrupt()
                    worker.join(self.interval)
                self._clear()
                raise Cancelled()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self._clear()
        if "error" in box:
            err = box["error"]
            if isinstance(err, duckdb.InterruptException):
                raise Cancelled() from None
            raise err
        return box.get("result")

    def run_with(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`run`, passing this object to ``fn`` as ``progress=``."""
        return self.run(fn, *args, progress=self, **kwargs)

    def _interrupt(self) -> None:
        if self._con is None:
            return
        try:
            self._con.interrupt()
        except duckdb.Error:
            pass  # between queries: nothing to interrupt

    def _percent(self) -> float:
        if self._con is None:
            return -1.0
        try:
            return float(self._con.query_progress())
        except duckdb.Error:
            return -1.0

    def _draw(self) -> None:
        if not self.enabled:
            return
        pct = self._percent()
        if pct >= 0:
            filled = int(WIDTH * min(pct, 100.0) / 100)
            bar = f"[{'#' * filled}{'-' * (WIDTH - filled)}] {pct:5.1f}%"
        else:
            spinner = "|/-\\"[int(time.monotonic() * 4) % 4]
            bar = f"[{spinner}]"
        self.stream.write(f"\r\x1b[2K{self._stage} {bar}")
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False
