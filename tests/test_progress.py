"""Progress on long CLI work: a bar on a terminal, nothing on a pipe, Ctrl-C cancels cleanly."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

LONG = "SELECT sum(a.range * b.range % 7) AS s FROM range(40000) a, range(40000) b"


def _read_pty(fd, seconds):
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"%" in out and b"[" in out:
                break
    return out.decode(errors="replace")


def test_terminal_shows_stage_and_percentage_then_ctrl_c_leaves_no_output(tmp_path):
    out_dir = tmp_path / "out"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpusql.cli", "materialize", LONG, str(out_dir)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    try:
        screen = _read_pty(master, 60)
        assert f"materialize {out_dir}" in screen
        assert "%" in screen and ("[#" in screen or "[-" in screen)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        screen += _read_pty(master, 2)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 130
    assert "cancelled" in screen
    assert not out_dir.exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_pipe_output_has_no_progress_and_quiet_flag_is_accepted(tmp_path):
    for extra in ([], ["--quiet"]):
        proc = subprocess.run(
            [sys.executable, "-m", "corpusql.cli", *extra, "materialize",
             "SELECT range AS i FROM range(2000000)", str(tmp_path / f"o{len(extra)}")],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        assert "\r" not in proc.stdout and "written, 2000000 rows" in proc.stdout
