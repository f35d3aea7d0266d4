#!/usr/bin/env bash
# CI stage (issue 11): build the Linux program from this clone, then run the
# frozen program on a virtual desktop: --self-test, 30 s of the tray app
# with a timer started and stopped from its CLI, and its report read back
# (build_scripts/frozen_check.py). Expects .venv from bootstrap.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$(date +%s)
bash build_scripts/build-linux.sh
echo "==> running the frozen program on Xvfb + openbox + trayer"
.venv/bin/python build_scripts/frozen_check.py dist/punchclock/punchclock
echo "==> build stage took $(( $(date +%s) - started )) s"
