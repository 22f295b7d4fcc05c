#!/usr/bin/env bash
# The test command: set up what is missing, then lint, format check, types,
# import layers and the whole pytest suite (unit and real-server integration).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check" && ruff check src tests bench
echo "== ruff format --check" && ruff format --check src tests bench
echo "== mypy (strict)" && mypy
echo "== import-linter" && lint-imports
# Two workers (this machine's cores); a file's tests stay on one worker, in order.
echo "== pytest" && pytest -q -n 2 --dist loadfile "$@"
