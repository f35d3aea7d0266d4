#!/usr/bin/env bash
# Builds Punchclock for Linux with PyInstaller: a one-folder program in
# dist/punchclock/ and an installable tarball
# dist/punchclock-VERSION-linux-ARCH.tar.gz holding the folder, a .desktop
# file, the icons and install.sh (per-user install under ~/.local).
#
#   build_scripts/build-linux.sh          # uses .venv (build_scripts/bootstrap.sh)
#
# The target machine needs the system libraries the bundle does not carry
# (libGL, libEGL, libxcb; shared/TESTING.md), listed in the tarball's README.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-.venv/bin/python}
say() { printf '==> %s\n' "$*" >&2; }
if [ ! -x "$python" ]; then
  echo "no $python: run build_scripts/bootstrap.sh test first (it installs the" \
    "system packages and .venv with PyInstaller), or set PYTHON" >&2
  exit 2
fi

version=$("$python" -c 'import sys; sys.path.insert(0, "build_scripts"); import freeze; print(freeze.version())')
arch=$(uname -m)
name="punchclock-$version-linux-$arch"

say "rendering icons"
QT_QPA_PLATFORM=offscreen "$python" build_scripts/make_icons.py build/icons >/dev/null

say "freezing with PyInstaller (one folder)"
started=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller \
  build_scripts/punchclock-linux.spec
say "frozen in $(( $(date +%s) - started )) s: dist/punchclock ($(du -sh dist/punchclock | cut -f1))"

say "packing dist/$name.tar.gz"
stage="build/package/$name"
rm -rf "$stage"
mkdir -p "$stage/share/applications"
cp -R dist/punchclock "$stage/punchclock"
cp build_scripts/linux/punchclock.desktop "$stage/share/applications/"
cp build_scripts/linux/install.sh "$stage/"
for png in build/icons/punchclock-*.png; do
  size=${png##*-}; size=${size%.png}
  mkdir -p "$stage/share/icons/hicolor/${size}x${size}/apps"
  cp "$png" "$stage/share/icons/hicolor/${size}x${size}/apps/punchclock.png"
done
mkdir -p "$stage/share/icons/hicolor/scalable/apps"
cp build/icons/punchclock.svg "$stage/share/icons/hicolor/scalable/apps/"
{
  echo "Punchclock $version for Linux ($arch)"
  echo
  echo "Install for your user:   ./install.sh      (remove: ./install.sh --uninstall)"
  echo "Or run in place:         ./punchclock/punchclock"
  echo "Check this machine:      ./punchclock/punchclock --self-test"
  echo
  echo "System libraries the program needs (Debian/Ubuntu package names):"
  echo "  libgl1 libegl1 libxcb-render0 fontconfig-config libxcb-cursor0"
  echo "  libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libdbus-1-3"
} > "$stage/README.txt"
tar -C build/package -czf "dist/$name.tar.gz" "$name"
say "done: dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
