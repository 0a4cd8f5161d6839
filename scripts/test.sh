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
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider --durations=30)  # the slowest 30: where the time goes
if [ $# -gt 0 ]; then
  "${PYTEST[@]}" "$@"  # the tests asked for, one at a time
  runs=($?)
else
  # Both cores for the tests that don't race a clock (each file on one worker, so a file's servers start once);
  # then the ones that play audio against the clock, alone (the "realtime" marker, tests/conftest.py).
  "${PYTEST[@]}" -m "not realtime" -n 2 --dist loadfile
  runs=($?)
  "${PYTEST[@]}" -m realtime
  runs+=($?)
fi
rc=0
for run in "${runs[@]}"; do
  if [ "$run" -eq 5 ]; then
    echo "pytest collected no tests: failing on purpose" >&2
    rc=1
  elif [ "$run" -ne 0 ]; then
    rc=$run
  fi
done
exit $rc
