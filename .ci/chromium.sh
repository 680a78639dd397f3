#!/usr/bin/env bash
# Headless Chromium for the HTML report's browser test (tests/report): the Debian package
# `chromium` when no chromium is on PATH. The test skips, saying why, without it.
set -euo pipefail
bash "$(dirname "$0")/apt-install.sh" chromium chromium chromium-browser
