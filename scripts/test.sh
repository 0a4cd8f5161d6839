#!/usr/bin/env bash
# One command: install everything, then run lint, type checks and the whole test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
set -e
.venv/bin/ruff check helpline tests bench
.venv/bin/mypy
.venv/bin/lint-imports  # the layering contracts in pyproject.toml ([tool.importlinter])
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=30 "$@"  # the slowest 30: where the suite's time goes
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit $rc
