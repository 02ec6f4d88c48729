#!/usr/bin/env bash
# Install everything the test suite needs (engines, oracles, llama.cpp, chromium) and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
# Headless Chromium for the scoreboard HTML test (root only, e.g. in CI).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> installing chromium (Debian) for the HTML scoreboard browser test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: chromium not installed; the browser test will be skipped" >&2
fi
export HF_HUB_OFFLINE=1
exec .venv/bin/pytest "$@"
