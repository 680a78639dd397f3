"""Fault points for crash tests: ``CORPUSQL_FAULT=swap:exchanged`` kills the process there.

``point(name)`` does nothing unless ``name`` is one of the comma-separated names in
``CORPUSQL_FAULT``; then the process sends itself ``CORPUSQL_FAULT_SIGNAL`` (``KILL`` by default,
``STOP`` to freeze it in place). The tests use it to kill a materialization at each step of its
swap for real, with no timing luck. The points are listed in docs/materialize.md.
"""

from __future__ import annotations

import os
import signal


def point(name: str) -> None:
    """Send this process the configured signal when ``name`` is an armed fault point."""
    armed = os.environ.get("CORPUSQL_FAULT")
    if not armed or name not in {p.strip() for p in armed.split(",")}:
        return
    sig = os.environ.get("CORPUSQL_FAULT_SIGNAL", "KILL").upper().removeprefix("SIG")
    os.kill(os.getpid(), getattr(signal, f"SIG{sig}"))
