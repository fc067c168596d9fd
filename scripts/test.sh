#!/usr/bin/env bash
# Every check CI runs: setup (dev), ruff lint + format, mypy, compose validation, pytest.
#
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh tests/unit -x -q     # extra arguments go to pytest
#
# All checks run even when an early one fails; the exit status is non-zero if any failed
# (pytest's 5, "no tests collected", counts as a failure).
#
# Environment:
#   NASBOARD_SKIP_SETUP=1   do not run scripts/setup.sh first
#   (see tests/fixtures_services.py for NASBOARD_TEST_POSTGRES_URL, NASBOARD_TEST_REDIS_URL
#    and NASBOARD_TEST_FORCE_THROWAWAY)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=.venv/bin

if [ "${NASBOARD_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh dev || {
    echo "test: setup failed" >&2
    exit 1
  }
fi

failed=()
step() {
  local name="$1"
  shift
  printf '\n=== %s: %s\n' "$name" "$*" >&2
  "$@"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '=== %s FAILED (exit %d)\n' "$name" "$rc" >&2
    failed+=("$name($rc)")
  fi
}

step "ruff check" "$bin/ruff" check .
step "ruff format" "$bin/ruff" format --check .
step "mypy" "$bin/mypy" backend worker bench tests
step "compose" "$bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
step "pytest" "$bin/pytest" "$@"

if [ "${#failed[@]}" -ne 0 ]; then
  printf '\ntest: FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\ntest: all checks passed\n' >&2
