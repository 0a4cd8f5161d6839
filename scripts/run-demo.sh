#!/usr/bin/env bash
# One command: install everything, then serve the demo business on SQLite with offline models.
set -euo pipefail
cd "$(dirname "$0")/.."
# the demo needs no language model: skip the optional `llm` extra (kept if already installed)
HELPLINE_WITHOUT_LLM=1 bash scripts/install.sh
exec .venv/bin/helpline serve --pack examples/demo "$@"
