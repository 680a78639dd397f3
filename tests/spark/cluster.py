"""A real Spark standalone cluster on 127.0.0.1 for tests and benchmarks: one Master and N
Workers started with pyspark's ``bin/spark-class``, stopped by pid.

::

    with standalone_cluster(workers=2, cores=1, memory="1g") as cluster:
        spark = corpusql.spark.session(cluster.master_url, **{"spark.executor.memory": "1g"})
        ...
        cluster.kill_worker(0)          # SIGKILL one worker (and its executors) by pid

Every process runs with its own ports (free ones, asked of the kernel), its own work, log and
scratch directories under ``tmp`` (a fresh temporary directory when not given), and
``SPARK_LOCAL_IP=127.0.0.1``. Start-up waits until the master's JSON status page
(``http://127.0.0.1:<webui>/json/``) lists every worker ALIVE. At exit the helper sends SIGTERM to
exactly the processes it started (and then to the executor JVMs and Python workers those
processes forked, found by pid in /proc before the signal), waits, sends SIGKILL to any left, and
raises if one is still alive.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds to wait for the master and the workers to come up (JVM start on a loaded machine).
START_TIMEOUT = 180.0
#: Seconds between SIGTERM and SIGKILL.
STOP_GRACE = 15.0


def spark_class() -> Path:
    """pyspark's ``bin/spark-class`` (the pip package has no sbin/start-master.sh)."""
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pyspark's launcher script is missing "
                                f"(reinstall with pip install 'corpusql[spark]')")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...), read from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Worker:
    """One Worker JVM: its process, web UI port (JSON status at /json/) and directories."""

    proc: subprocess.Popen
    webui_port: int
    work_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def webui_url(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    def status(self) -> dict:
        """The worker's JSON status page: id, cores, executors, finishedexecutors..."""
        return get_json(f"{self.webui_url}/json/")


@dataclass
class StandaloneCluster:
    """A running Master and its Workers; ``master_url`` is what a SparkSession connects to."""

    master_url: str
    master_webui: str
    master: subprocess.Popen
    workers: list[Worker]
    tmp: Path
    killed: list[int] = field(default_factory=list)

    @property
    def master_pid(self) -> int:
        return self.master.pid

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    @property
    def pids(self) -> list[int]:
        """The processes this helper started: the master first, then the workers."""
        return [self.master_pid, *self.worker_pids]

    def status(self) -> dict:
        """The master's JSON status page: workers (id, host, state, cores), apps..."""
        return get_json(f"{self.master_webui}/json/")

    def alive_workers(self) -> list[dict]:
        return [w for w in self.status()["workers"] if w["state"] == "ALIVE"]

    def kill_worker(self, index: int, sig: int = signal.SIGKILL) -> int:
        """Kill worker ``index`` by pid (SIGKILL by default, as a machine dying would) together
        with the executor JVMs and Python workers it forked; returns the worker's pid."""
        w = self.workers[index]
        below = descendants(w.pid)
        w.proc.send_signal(sig)
        for pid in below:
            _signal(pid, sig)
        w.proc.wait(timeout=STOP_GRACE)
        self.killed.append(w.pid)
        return w.pid


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait(cond, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p}:\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                      for p in logs if p.exists())
    raise TimeoutError(f"standalone_cluster: {what} within {timeout:.0f} s "
                       f"(START_TIMEOUT in tests/spark/cluster.py)\n{tails}")


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([str(spark_class()), *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM ``procs`` and what they forked, wait, SIGKILL what is left; raise if any lives."""
    running = [p for p in procs if p.poll() is None]
    below = [pid for p in running for pid in descendants(p.pid)]
    for p in running:
        p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for p in running:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=STOP_GRACE)
    while any(alive(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in below:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    time.sleep(0.2)
    left = [p.pid for p in procs if p.poll() is None] + [pid for pid in below if alive(pid)]
    if left:
        raise RuntimeError(f"standalone_cluster: processes {left} survived SIGKILL")


@contextmanager
def standalone_cluster(workers: int = 2, cores: int = 1, memory: str = "1g",
                       tmp: Path | None = None,
                       daemon_memory: str = "256m") -> Iterator[StandaloneCluster]:
    """Start a Master and ``workers`` Workers (``cores`` cores, ``memory`` for executors each)
    on 127.0.0.1, wait until all are registered, yield the cluster, stop them by pid.

    ``daemon_memory`` is the heap of the master and worker JVMs themselves
    (``SPARK_DAEMON_MEMORY``); executors get up to ``memory`` per worker.
    """
    owned = tempfile.TemporaryDirectory(prefix="corpusql-spark-cluster-") if tmp is None else None
    root = Path(owned.name if owned else tmp)
    try:
        env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY=daemon_memory,
                   SPARK_LOG_DIR=str(root / "logs"), SPARK_LOCAL_DIRS=str(root / "local"),
                   SPARK_PID_DIR=str(root / "pids"))
        for d in ("logs", "local", "pids"):
            (root / d).mkdir(parents=True, exist_ok=True)
        port, webui = free_port(), free_port()
        master_log = root / "logs" / "master.out"
        procs = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                         "--port", str(port), "--webui-port", str(webui)], env, master_log)]
        cluster = None
        try:
            master_url, master_webui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{webui}"

            def master_up() -> bool:
                if procs[0].poll() is not None:
                    raise RuntimeError(f"standalone_cluster: the master exited with "
                                       f"{procs[0].returncode}; see {master_log}")
                try:
                    get_json(f"{master_webui}/json/")
                except OSError:
                    return False
                return True

            _wait(master_up, START_TIMEOUT, "the master did not answer", [master_log])
            ws = []
            for i in range(workers):
                work, log, wport = root / f"worker{i}", root / "logs" / f"worker{i}.out", free_port()
                work.mkdir()
                procs.append(_start(["org.apache.spark.deploy.worker.Worker", "--host",
                                     "127.0.0.1", "--cores", str(cores), "--memory", memory,
                                     "--work-dir", str(work), "--webui-port", str(wport),
                                     master_url], env, log))
                ws.append(Worker(procs[-1], wport, work, log))
            cluster = StandaloneCluster(master_url, master_webui, procs[0], ws, root)

            def registered() -> bool:
                for w in ws:
                    if w.proc.poll() is not None:
                        raise RuntimeError(f"standalone_cluster: worker pid {w.pid} exited with "
                                           f"{w.proc.returncode}; see {w.log}")
                try:
                    return len(cluster.alive_workers()) == workers
                except OSError:
                    return False

            _wait(registered, START_TIMEOUT, f"{workers} workers did not register",
                  [master_log] + [w.log for w in ws])
            yield cluster
        finally:
            _stop(procs[::-1])  # workers first, so they do not reconnect to a dead master
    finally:
        if owned is not None:
            owned.cleanup()
