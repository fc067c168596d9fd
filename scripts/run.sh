#!/usr/bin/env bash
# The main job: set up (run mode), then serve the dashboard on http://127.0.0.1:8000 with
# the embedded SQLite database and embedded worker, submitting a demo search on digits.
#
#   bash scripts/run.sh                 # extra arguments go to `nasboard serve --demo`
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh run
exec .venv/bin/nasboard serve --demo "$@"
