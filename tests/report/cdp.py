"""A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
the browser reads NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4), so
the tests need no driver package and no network port. Every console message, page exception and
network request is recorded."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import sys
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
         "--remote-debugging-pipe"]
TIMEOUT = 120.0  # seconds to wait for one reply before failing (a hang guard, not a measure)


class Browser:
    def __init__(self, chromium: str, profile: Path) -> None:
        self.log = profile.with_name(profile.name + ".log")  # chromium's stderr
        r, self._to_browser = os.pipe()
        self._from_browser, w = os.pipe()
        # the child's ends, numbered 5 or more so that moving them to 3 and 4 clobbers neither
        to_browser_r, from_browser_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 5) for fd in (r, w))
        os.close(r)
        os.close(w)
        move = (f"import os, sys; os.dup2({to_browser_r}, 3); os.dup2({from_browser_w}, 4); "
                "os.execv(sys.argv[1], sys.argv[1:])")
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", move, chromium, *FLAGS, f"--user-data-dir={profile}",
                 "about:blank"],
                pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def send(self, method: str, params: dict | None = None, *, browser: bool = False) -> dict:
        """Send a command (to the attached page unless ``browser``) and return its result."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, since: int = 0) -> dict:
        """The first ``method`` event of the attached page from ``self.events[since]`` on."""
        for e in self.events[since:]:
            if e.get("method") == method and e.get("sessionId") == self.session:
                return e
        while True:
            e = self._read()
            self.events.append(e)
            if e.get("method") == method and e.get("sessionId") == self.session:
                return e

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._from_browser], [], [], TIMEOUT)
            if not ready:
                raise TimeoutError(f"chromium sent nothing for {TIMEOUT} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the pipe (its stderr: {self.log})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str, width: int, height: int) -> None:
        """A new page of ``width`` x ``height`` CSS pixels with ``url`` loaded."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)
        self.session = self.send("Target.attachToTarget", {"targetId": target["targetId"],
                                                           "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        since = len(self.events)
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", since)

    def evaluate(self, expression: str):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def labels_outside(self) -> list[str]:
        """Texts of chart labels drawn outside their chart, and of table-of-contents links
        outside the page: labels the reader would see cut off."""
        return self.evaluate(
            "Array.from(document.querySelectorAll('#toc a, svg text')).filter(function (e) {"
            " var r = e.getBoundingClientRect(), box = (e.closest('svg') || document.body)"
            "  .getBoundingClientRect();"
            " return r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1"
            "  || r.bottom > box.bottom + 1; }).map(function (e) { return e.textContent; })")

    def screenshot(self, path: Path, clip: dict) -> None:
        r = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                 "clip": {**clip, "scale": 1}})
        path.write_bytes(base64.b64decode(r["data"]))

    def problems(self) -> list[str]:
        """Console errors and warnings, page exceptions, and requests that left the file."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console {p['type']}: {p.get('args')}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails')}")
            elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"request: {url}")
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close", browser=True)
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
