#!/usr/bin/env bash
# apt-install.sh PACKAGE COMMAND...: install the Debian package PACKAGE (apt, with sudo when not
# root) unless one of the COMMANDs is already on PATH; prints which command is used.
set -euo pipefail
pkg=$1; shift
for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
        echo "$pkg: using $(command -v "$c")"
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-install.sh: none of $* found and no apt-get: install $pkg by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$pkg" >/dev/null
echo "$pkg: installed $(command -v "$1")"
