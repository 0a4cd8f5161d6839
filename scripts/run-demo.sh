#!/usr/bin/env bash
# One command: install everything, then serve the demo business on SQLite with offline models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/helpline serve --pack examples/demo "$@"
