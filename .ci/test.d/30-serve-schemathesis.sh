#!/usr/bin/env bash
# A property-based run of schemathesis (PyPI) against `ereje serve`'s own OpenAPI document:
# no 5xx and no answer that breaks the document. Bounded: a few examples per operation and a
# time limit. Runs the `ereje` binary that `cargo test` built.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/ereje-schemathesis.XXXXXX)
if [ -x /tmp/st-venv/bin/schemathesis ] && [ -z "${CI:-}" ]; then ln -s /tmp/st-venv "$work/venv"; else
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q "schemathesis>=4,<5"
fi
# (the binary is the one `cargo test --workspace` built)
target/debug/ereje serve policies/kz --listen 127.0.0.1:0 --db "$work/ereje.sqlite" \
  >"$work/out" 2>"$work/log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  sleep 0.1
done
address=$(sed -n 's/^listening on //p' "$work/out")
timeout 600 "$work/venv/bin/schemathesis" run "$address/v1/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-examples 25 --workers 2 --request-timeout 10 --no-color
echo "1 passed, 0 failed: schemathesis found no 5xx and no answer outside the document"
