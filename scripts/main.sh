#!/usr/bin/env bash
# The main job over the bundled contracts: install what they need, validate, run every falsifier up
# to integration level (results whose claim and code are unchanged are reused), publish the
# scoreboard. Exit status: pv's (0 ok, 1 findings), 3 when the install failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh contracts || { echo "main: the install failed (see above)" >&2; exit 3; }
pv=.venv/bin/pv
echo "==> pv validate --strict contracts/ acceptance/"
$pv validate --strict contracts/ acceptance/ || exit $?
echo "==> pv run contracts/ --jobs 2"
$pv run contracts/ --jobs 2; run=$?
$pv scoreboard contracts/ --format text
$pv scoreboard contracts/ acceptance/ --format md -o .pv/scoreboard.md
$pv scoreboard contracts/ acceptance/ --format html -o .pv/scoreboard.html
$pv ship contracts/ acceptance/  # ship-% per product, derived from the same evidence (exit status ignored)
echo "scoreboard written to .pv/scoreboard.md and .pv/scoreboard.html"
if [ "$run" -ne 0 ]; then
  echo "main: pv run exited $run: the falsifiers marked FALSIFIED or ERROR above are why" >&2
fi
exit $run
