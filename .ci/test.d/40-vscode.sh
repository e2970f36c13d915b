#!/usr/bin/env bash
# The VS Code extension (editors/vscode): its npm packages from the lock file, the TextMate
# grammar's tests (vscode-tmgrammar-test on a file of every token kind), and the `.vsix` package,
# which must hold the license.
set -euo pipefail
cd "$(dirname "$0")/../../editors/vscode"
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --no-audit --no-fund
npm test
npm run package
test -s ereje.vsix
# The package holds the project's license (vsce packages without --skip-license only then).
if ! command -v unzip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends unzip
fi
# (The listing is read whole first: `grep -q` stops at its first match, and under `pipefail` the
# listing cut short by it would count as a failure.)
listing=$(unzip -l ereje.vsix)
if ! grep -Eq ' extension/LICENSE(\.txt)?$' <<<"$listing"; then
  echo "ereje.vsix holds no LICENSE:" >&2
  echo "$listing" >&2
  exit 1
fi
echo "editors/vscode: grammar tests pass, ereje.vsix built"
