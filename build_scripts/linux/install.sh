#!/usr/bin/env sh
# Installs Punchclock for the current user (no root): the program under
# ~/.local/lib/punchclock, the command in ~/.local/bin, the menu entry and
# icons under ~/.local/share. Run it from the unpacked tarball; run it again
# to update. `./install.sh --uninstall` removes what it installed (your
# data and settings stay).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-"$HOME/.local"}
lib="$prefix/lib/punchclock"

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$lib" "$prefix/bin/punchclock" "$prefix/share/applications/punchclock.desktop"
  find "$prefix/share/icons/hicolor" -name 'punchclock.*' -delete 2>/dev/null || true
  echo "Punchclock removed from $prefix"
  exit 0
fi

mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/applications"
rm -rf "$lib"
cp -R "$here/punchclock" "$lib"
ln -sf "$lib/punchclock" "$prefix/bin/punchclock"
cp -R "$here/share/icons" "$prefix/share/"
# The desktop entry spec wants a path with spaces in double quotes, with
# ", `, $ and \ escaped by a backslash that is itself written doubled (the
# string escapes apply before the quoting); sed's own & and | escaped too.
quoted=$(printf '%s' "$lib/punchclock" \
  | sed -e 's/[\\"`$]/\\\\\\\\&/g' -e 's/[&|]/\\&/g')
sed "s|^Exec=punchclock|Exec=\"$quoted\"|" \
  "$here/share/applications/punchclock.desktop" \
  > "$prefix/share/applications/punchclock.desktop"
command -v update-desktop-database >/dev/null 2>&1 \
  && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 \
  && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true

echo "Punchclock installed in $lib; start it from the menu or run: punchclock"
"$lib/punchclock" --self-test >/dev/null 2>&1 \
  || echo "warning: 'punchclock --self-test' failed; run it to see which part" >&2
