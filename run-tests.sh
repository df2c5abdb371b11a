#!/usr/bin/env bash
# Earshot — run the whole test suite: unit, integration (real models, real audio server) and ui.
#
#   ./run-tests.sh              install what is missing (cheap when installed), then all tests
#   ./run-tests.sh -k denoise   extra arguments go to pytest
#
# Tests run with the network unplugged: inside a network namespace with no interfaces when the
# machine allows one (`unshare -n`), and always behind the socket guard in tests/conftest.py.
set -euo pipefail
cd "$(dirname "$0")"

# --export: torch (CPU) and the exported models' torch sources, so the ONNX parity tests run in CI too;
# --moonshine: the optional Moonshine recogniser, so its tests run too;
# --cluster: Ray, so the library's local-Ray test runs in CI too.
./install.sh --no-start --asr base --quiet --export --moonshine --cluster

# The house's own checks first (seconds): lint, formatting, and the import rules of pyproject.toml.
echo "==> ruff (lint and format) and import-linter (layers, no cycles)"
.venv/bin/ruff check assistant tests scripts
.venv/bin/ruff format --check assistant tests scripts
.venv/bin/lint-imports

export ORT_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1 NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba}"
runner=()
if unshare -n true 2>/dev/null; then
  # A network namespace with only the loopback interface, brought up: the library's Ray test starts a
  # local cluster on 127.0.0.1 (tests marked `loopback`; the socket guard refuses every other test).
  runner=(unshare -n sh -c 'ip link set lo up && exec "$@"' sh)
  echo "==> Running tests with no network (unshare -n; loopback only)"
else
  echo "==> unshare -n is not permitted here; the socket guard in tests/conftest.py still blocks the network"
fi
# pytest exits 5 when no test ran: that is a failure here too (set -e propagates it).
# --durations: the slowest tests in the log, to keep the suite inside CI's time.
"${runner[@]}" .venv/bin/python -m pytest tests --durations=40 "$@"
