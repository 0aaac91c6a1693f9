#!/usr/bin/env bash
# Installs what is missing (a local .venv from requirements.txt) and runs the test suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
exec python -m pytest -q tests "$@"
