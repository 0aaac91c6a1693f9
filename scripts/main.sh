#!/usr/bin/env bash
# Installs what is missing and runs the main job: launch.py on the default config (CNN-2 on the
# locally generated dendrite_sim/small dataset). Extra args go to launch.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
exec python launch.py --config configs/cnn2.py --workdir "${WORKDIR:-workdirs/cnn2}" "$@"
