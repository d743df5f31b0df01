#!/usr/bin/env bash
# Renders a page (the live page of a running coordinator or run, or a report.html)
# with headless Chromium to a PNG.
#   scripts/screenshot.sh http://127.0.0.1:8080/ live.png [WIDTHxHEIGHT]
#   scripts/screenshot.sh runs/quickstart-report/report.html report.png
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n 2,5p "$0" | sed 's/^# //' >&2; exit 2; }
url=$1 out=$2 size=${3:-1200x2600}
[[ $url == http* || $url == file:* ]] || url="file://$(cd "$(dirname "$url")" && pwd)/$(basename "$url")"
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "screenshot: chromium not found (apt-get install chromium)" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --virtual-time-budget=3000 --screenshot="$(realpath -m "$out")" "$url" >/dev/null 2>&1
[[ -s $out ]] || { echo "screenshot: chromium wrote nothing for $url" >&2; exit 1; }
echo "wrote $out"
