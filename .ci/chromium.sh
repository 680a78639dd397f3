#!/usr/bin/env bash
# Install headless Chromium for the HTML report's browser test (tests/report) when absent;
# Debian/Ubuntu (apt), the Debian package `chromium`. The test skips, saying why, without it.
set -euo pipefail
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then
        "$b" --version 2>/dev/null | head -1
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: no chromium and no apt-get: install Chromium to run the report's browser test" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version 2>/dev/null | head -1
