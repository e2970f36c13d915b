#!/usr/bin/env bash
# The Python package (bindings/python): a venv under target/, the test dependencies from PyPI,
# the package built by maturin and installed with pip, then pytest. Fails when a test fails or
# when no test ran (pytest's exit code 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
venv="$root/target/python-venv"
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv python3-dev >/dev/null
  fi
  python=python3
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q maturin pytest pandas polars 'dask[distributed]' matplotlib
# The crate builds in target/python (its own workspace and lock file; see its Cargo.toml).
export CARGO_TARGET_DIR="$root/target/python"
export PATH="$venv/bin:$PATH"
"$venv/bin/python" -m pip install -q --no-build-isolation --force-reinstall --no-deps ./bindings/python
# The `ereje` binary the tests compare with.
cargo build -q -p ereje-cli
export EREJE_BIN="$root/target/debug/ereje"
export EREJE_ROOT="$root"
status=0
"$venv/bin/python" -m pytest -q bindings/python/tests || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest ran no test" >&2
fi
exit "$status"
