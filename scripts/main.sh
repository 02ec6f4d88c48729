#!/usr/bin/env bash
# The main job over the bundled contracts: validate, run every falsifier up to integration
# level, publish the scoreboard. Exit status: pv's (0 ok, 1 findings).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh engines || exit 3
pv=.venv/bin/pv
$pv validate --strict contracts/ || exit $?
$pv run contracts/ --jobs 2; run=$?
$pv scoreboard contracts/ --format text
$pv scoreboard contracts/ --format md -o .pv/scoreboard.md
$pv scoreboard contracts/ --format html -o .pv/scoreboard.html
echo "scoreboard written to .pv/scoreboard.md and .pv/scoreboard.html"
exit $run
