"""Shared fixtures: the repository, the bundled policy, the contract examples, the CLI."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(os.environ.get("EREJE_ROOT", pathlib.Path(__file__).resolve().parents[3]))
POLICY_DIR = ROOT / "policies" / "kz"
EXAMPLES = ROOT.parent / "shared" / "contract" / "examples"
if not EXAMPLES.exists():
    EXAMPLES = ROOT / "../shared/contract/examples"
EREJE_BIN = pathlib.Path(os.environ.get("EREJE_BIN", ROOT / "target" / "debug" / "ereje"))


@pytest.fixture(scope="session")
def policy():
    import ereje

    return ereje.Policy.load(POLICY_DIR)


@pytest.fixture(scope="session")
def cases():
    return (EXAMPLES / "cases.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def expected():
    lines = (EXAMPLES / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def run_cli(*arguments, input_text=None):
    """Runs the `ereje` binary and gives its stdout."""
    result = subprocess.run([str(EREJE_BIN), *map(str, arguments)], input=input_text,
                            capture_output=True, text=True, check=False)
    assert result.returncode in (0, 3), result.stderr
    return result.stdout
