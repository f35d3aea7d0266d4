#!/usr/bin/env bash
# CI stage (issue 11): build the Linux program from this clone, then run the
# frozen program on a virtual desktop: --self-test, 30 s of the tray app
# with a timer started and stopped from its CLI, and its report read back
# (build_scripts/frozen_check.py); then install the tarball for a user and
# remove it again. Expects .venv from bootstrap.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$(date +%s)
bash build_scripts/build-linux.sh
echo "==> running the frozen program on Xvfb + openbox + trayer"
.venv/bin/python build_scripts/frozen_check.py dist/punchclock/punchclock

# The tarball as a worker gets it: unpacked, installed for a user with its
# install.sh (into a scratch prefix), run from there, and uninstalled.
echo "==> installing the tarball with its install.sh into a scratch prefix"
tarball=$(ls -t dist/punchclock-*-linux-*.tar.gz | head -1)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -C "$scratch" -xzf "$tarball"
unpacked=$(basename "$tarball" .tar.gz)
prefix="$scratch/a home with spaces"
PREFIX="$prefix" sh "$scratch/$unpacked/install.sh"
"$prefix/bin/punchclock" --version
grep -qxF "Exec=\"$prefix/lib/punchclock/punchclock\"" \
  "$prefix/share/applications/punchclock.desktop"
test -f "$prefix/share/icons/hicolor/48x48/apps/punchclock.png"
PREFIX="$prefix" sh "$scratch/$unpacked/install.sh" --uninstall
test ! -e "$prefix/bin/punchclock" && test ! -e "$prefix/lib/punchclock"
echo "==> build stage took $(( $(date +%s) - started )) s"
