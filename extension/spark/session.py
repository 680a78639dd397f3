"""``corpusql.spark.session``: a SparkSession with every corpusql function registered."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import CorpusqlError

#: The oldest Java that Spark 4 runs on.
MIN_JAVA = 17
INSTALL_JAVA = ("install it with `apt-get install -y openjdk-17-jdk-headless` (Debian, Ubuntu) "
                "or set JAVA_HOME to a Java 17+ installation")
INSTALL_PYSPARK = "pip install 'corpusql[spark]'"


class JavaMissing(CorpusqlError, RuntimeError):
    """No usable Java for Spark; the message says how to install one."""


def java_binary() -> str | None:
    """The java Spark's launcher would run: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        path = Path(home) / "bin" / "java"
        return str(path) if path.is_file() else None
    return shutil.which("java")


def check_java() -> str:
    """The java binary, or :class:`JavaMissing` with a one-line message saying how to install it."""
    java = java_binary()
    if java is None:
        where = (f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java"
                 if os.environ.get("JAVA_HOME") else "no java on PATH and JAVA_HOME is not set")
        raise JavaMissing(f"corpusql.spark needs Java {MIN_JAVA}+ ({where}): {INSTALL_JAVA}")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise JavaMissing(
            f"corpusql.spark cannot run {java} -version ({e}): {INSTALL_JAVA}") from None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if m is None:
        raise JavaMissing(f"corpusql.spark cannot read the version of {java}: {INSTALL_JAVA}")
    major = int(m.group(2)) if m.group(1) == "1" else int(m.group(1))  # "1.8" is Java 8
    if major < MIN_JAVA:
        raise JavaMissing(
            f"corpusql.spark needs Java {MIN_JAVA}+ but {java} is Java {major}: {INSTALL_JAVA}")
    return java


def require_pyspark():
    """Import pyspark, or fail with the install command."""
    try:
        import pyspark
    except ImportError:
        raise ImportError(f"corpusql.spark needs pyspark 4.1 or newer: {INSTALL_PYSPARK}") from None
    major, minor = (int(x) for x in pyspark.__version__.split(".")[:2])
    if (major, minor) < (4, 1):
        raise ImportError(f"corpusql.spark needs pyspark 4.1 or newer (SQL functions with "
                          f"DEFAULT parameters, arrow_udf), found {pyspark.__version__}: "
                          f"{INSTALL_PYSPARK}")
    return pyspark


def session(master: str = "local[2]", app_name: str = "corpusql", **conf: str):
    """A SparkSession (started, or the running one) with every corpusql function registered.

    ``master``: ``local[N]``, ``spark://HOST:PORT``, ``yarn``... or ``sc://HOST:PORT`` for
    Spark Connect (no local Java needed then). ``conf``: Spark settings, passed as
    ``session(**{"spark.driver.memory": "4g"})``. The Python workers run this interpreter
    unless ``PYSPARK_PYTHON`` names another (it is set to ``sys.executable`` when unset), and
    ``NUMBA_CACHE_DIR``, when set, is passed on to the executors so they share compiled kernels.
    """
    from .binder import quiet_pyspark, register

    require_pyspark()
    with quiet_pyspark():
        from pyspark.sql import SparkSession

        if master.startswith("sc://"):
            builder = SparkSession.builder.remote(master)
            settings = dict(conf)
        else:
            check_java()
            builder = SparkSession.builder.master(master).appName(app_name)
            # pyspark sends its workers the interpreter named by PYSPARK_PYTHON, else "python3"
            # (which need not have corpusql): default to this one
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            settings = {}
            if os.environ.get("NUMBA_CACHE_DIR"):
                settings["spark.executorEnv.NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
            settings.update(conf)
        for key, value in settings.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    register(spark)
    return spark
