#!/usr/bin/env bash
# The commission app in a browser (issue 20): Playwright from PyPI in a venv under target/, with
# Debian's Chromium (/usr/bin/chromium; no browser is downloaded), over a fresh `ereje serve` on
# 127.0.0.1 with a fresh SQLite file. The admin creates a commission of three with the command
# line; .ci/commission_browser.py drives the rest. Screenshots and the PDF stay in
# target/commission-browser/. Bounded: the run is stopped after 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ ! -x /usr/bin/chromium ]; then
  echo "error: /usr/bin/chromium is missing (.ci/setup.d/00-apt.sh installs it)" >&2
  exit 1
fi
venv="$root/target/commission-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q playwright pypdf pillow
cargo build -q -p ereje-cli
ereje="$root/target/debug/ereje"
work="$root/target/commission-browser"
rm -rf "$work"
mkdir -p "$work"
db="$work/app.sqlite"
"$ereje" commission add --db "$db" --name almaly-3 --district Almaly
echo "correct horse battery" | "$ereje" user add --db "$db" --login member1 --name "Aigul Serikova" --commission almaly-3
echo "correct horse battery" | "$ereje" user add --db "$db" --login member2 --name "Bolat Nurlanov" --commission almaly-3
echo "correct horse battery" | "$ereje" user add --db "$db" --login member3 --name "Dana Akhmetova" --role chair --commission almaly-3
"$ereje" serve "$root/policies/kz" --listen 127.0.0.1:0 --db "$db" >"$work/serve.out" 2>"$work/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "^listening on " "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
[ -n "$url" ] || { echo "error: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
status=0
EREJE_APP_URL="$url" EREJE_SHOTS="$work" timeout 600 "$venv/bin/python" .ci/commission_browser.py || status=$?
# The chain of every action the browser took must be intact.
"$ereje" audit verify --db "$db" || status=1
exit "$status"
