# Sourced by bootstrap.sh before the tests: starts the servers the sync tests
# talk to on loopback and exports where they are (issue 7). Idempotent.
#
# - PostgreSQL (Debian's cluster tools) with a role for the tests; needs root,
#   or sudo.
# - aw-server 0.12.0 in a virtual environment of its own: it pins flask and
#   peewee versions the app must not be tied to.

_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
_as_postgres() { _as_root su postgres -c "$1"; }

start_postgresql() {
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "postgresql is not installed (it is in build_scripts/apt-packages.txt)" >&2
    return 1
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_lsclusters -h | grep -q "^$version main" \
    || _as_root pg_createcluster "$version" main >/dev/null
  pg_lsclusters -h | grep -q "^$version main .* online" \
    || _as_root pg_ctlcluster "$version" main start
  for _ in $(seq 50); do
    _as_postgres "psql -tAc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 0.2
  done
  _as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='punchclock'\"" \
    | grep -q 1 \
    || _as_postgres "psql -qc \"CREATE ROLE punchclock LOGIN PASSWORD 'punchclock' CREATEDB\""
  export PUNCHCLOCK_TEST_PG_URL=postgresql+psycopg://punchclock:punchclock@127.0.0.1:5432/postgres
}

install_aw_server() {
  local aw="$HOME/.cache/punchclock/aw-venv"
  if [ ! -x "$aw/bin/python" ] || ! "$aw/bin/python" -c "import aw_server" 2>/dev/null; then
    mkdir -p "$(dirname "$aw")"
    python3 -m venv "$aw"
    "$aw/bin/pip" install -q 'aw-server==0.12.0' 'peewee<4' 'flask==2.2.5'
  fi
  export PUNCHCLOCK_AW_PYTHON="$aw/bin/python"
}

start_sync_services() {
  start_postgresql && install_aw_server
}
