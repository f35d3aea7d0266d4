#!/usr/bin/env bash
# Sets up everything Punchclock needs on a Debian/Ubuntu machine, then runs
# the app (`run`) or the test suite (`test`). Safe to run again: it installs
# only what is missing.
#
#   build_scripts/bootstrap.sh run     # install, then start Punchclock
#   build_scripts/bootstrap.sh test    # install, then run the tests
#
# Extra arguments go to the app or to pytest.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"

mode=${1:-}
case "$mode" in
  run|test) shift ;;
  *) echo "usage: $0 run|test [ARGS...]" >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*" >&2; }

install_apt_packages() {
  local wanted missing=()
  wanted=$(grep -v '^\s*#' "$here/apt-packages.txt" | grep -v '^\s*$')
  for package in $wanted; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "missing system packages: ${missing[*]}; install them as root" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  say "installing system packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment in .venv"
    "$python" -m venv .venv
  fi
  local stamp=.venv/.punchclock-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    say "installing Python packages (pinned by constraints.txt)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev,server]'
    touch "$stamp"
  fi
}

install_apt_packages
install_python_packages

if [ "$mode" = test ]; then
  say "starting the test services (PostgreSQL, aw-server)"
  # shellcheck source=build_scripts/test-services.sh
  . "$here/test-services.sh"
  start_sync_services || { echo "could not start the test services" >&2; exit 1; }
  say "running the tests"
  exec .venv/bin/python -m pytest "$@"
fi

say "starting Punchclock (data under ${PUNCHCLOCK_HOME:-the standard user directories})"
exec .venv/bin/punchclock "$@"
