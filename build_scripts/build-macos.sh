#!/usr/bin/env bash
# Builds Punchclock for macOS 13 or later with PyInstaller: dist/Punchclock.app
# and a disk image dist/punchclock-VERSION-macos-ARCH.dmg.
#
#   build_scripts/build-macos.sh
#
# Environment:
#   PYTHON=python3.11          interpreter for a fresh .venv
#   PUNCHCLOCK_TARGET_ARCH     arm64, x86_64 or universal2 (default: this Mac's)
#   CODESIGN_IDENTITY          "Developer ID Application: ..." to sign for
#                              distribution (hardened runtime); ad hoc without
#   NOTARY_PROFILE             a `xcrun notarytool store-credentials` profile:
#                              notarize and staple the disk image
#   SKIP_SELF_TEST=1           do not run the frozen program's --self-test
#
# The .app's Info.plist says why Punchclock sends Apple events (the browser's
# page); Accessibility, Input Monitoring and Screen Recording have no such key
# and are granted in System Settings (build_scripts/freeze.py).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf '==> %s\n' "$*" >&2; }

# 1. The build environment.
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  "${PYTHON:-python3.11}" -m venv .venv
fi
python=.venv/bin/python
say "installing Python packages (pinned by constraints.txt)"
"$python" -m pip install -q --upgrade pip
"$python" -m pip install -q -c constraints.txt -e '.[dev]'

version=$("$python" -c 'import sys; sys.path.insert(0, "build_scripts"); import freeze; print(freeze.version())')
arch=${PUNCHCLOCK_TARGET_ARCH:-$(uname -m)}
name="punchclock-$version-macos-$arch"
app="dist/Punchclock.app"

# 2. Icons (the .icns of the bundle).
say "rendering icons"
QT_QPA_PLATFORM=offscreen "$python" build_scripts/make_icons.py build/icons >/dev/null

# 3. Freeze.
say "freezing with PyInstaller (.app bundle)"
started=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller \
  build_scripts/punchclock-macos.spec
say "frozen in $(( $(date +%s) - started )) s: $app ($(du -sh "$app" | cut -f1))"
plutil -lint "$app/Contents/Info.plist"

# 4. Sign: ad hoc by default (runs on this Mac, Gatekeeper will ask), or
#    with a Developer ID and the hardened runtime for distribution.
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  say "signing with $CODESIGN_IDENTITY (hardened runtime)"
  codesign --force --deep --timestamp --options runtime \
    --entitlements build_scripts/macos/entitlements.plist \
    --sign "$CODESIGN_IDENTITY" "$app"
else
  say "signing ad hoc"
  codesign --force --deep --sign - "$app"
fi
codesign --verify --deep --strict "$app"

# 5. Self-test: the bundle's executable is also the command line.
if [ -z "${SKIP_SELF_TEST:-}" ]; then
  say "self-test of the frozen program"
  "$app/Contents/MacOS/punchclock" --self-test
fi

# 6. The disk image a worker opens: the app and a link to /Applications.
say "packing dist/$name.dmg"
stage=build/dmg
rm -rf "$stage" "dist/$name.dmg"
mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
# hdiutil now and then fails with "Resource busy" while something (often
# Spotlight or XProtect) still holds the fresh staging folder: try again.
for attempt in 1 2 3; do
  hdiutil create -quiet -volname "Punchclock $version" -srcfolder "$stage" \
    -format UDZO "dist/$name.dmg" && break
  [ "$attempt" -lt 3 ] || { say "hdiutil failed 3 times"; exit 1; }
  say "hdiutil failed; trying again in 5 s"
  rm -f "dist/$name.dmg"
  sleep 5
done
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "dist/$name.dmg"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  say "notarizing"
  xcrun notarytool submit "dist/$name.dmg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "dist/$name.dmg"
fi
say "done: dist/$name.dmg"
