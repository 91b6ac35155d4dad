#!/usr/bin/env bash
# Installs MathJax 3 for the offline book: the npm package mathjax@$MATHJAX_VERSION, unpacked into
# book/_vendor/mathjax/ (git-ignored), which the book's extension (book/_ext/stalib_offline.py)
# serves as _static/mathjax/. Run once before `jupyter-book build book/`; a second run with the
# same version does nothing. Needs npm (Debian: apt-get install -y nodejs npm) and the npm registry.
set -euo pipefail
MATHJAX_VERSION="${MATHJAX_VERSION:-3.2.2}"
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/_vendor/mathjax"

if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$MATHJAX_VERSION" ] \
    && [ -f "$dest/tex-chtml.js" ]; then
  echo "MathJax $MATHJAX_VERSION is installed in $dest"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install_mathjax.sh: npm not found (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
  "mathjax@$MATHJAX_VERSION" >/dev/null
src="$tmp/node_modules/mathjax"
test "$(node -p "require('$src/package.json').version")" = "$MATHJAX_VERSION"

# The TeX-to-HTML component, what it loads on demand (TeX extensions, fonts, menu, a11y, speech).
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -r "$src/es5/tex-chtml.js" "$src/es5/input" "$src/es5/output" "$src/es5/ui" "$src/es5/a11y" \
  "$src/es5/adaptors" "$src/es5/sre" "$dest.new/"
cp "$src/LICENSE" "$dest.new/LICENSE"
echo "$MATHJAX_VERSION" > "$dest.new/.version"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "MathJax $MATHJAX_VERSION installed in $dest ($(du -sh "$dest" | cut -f1))"
