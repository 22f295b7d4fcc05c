#!/usr/bin/env bash
# The main job: set up a fresh machine, then run the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/shipway demo "$@"
