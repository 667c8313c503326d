#!/usr/bin/env bash
# `make test`: the book built (every chapter executed once) and every test, on two cores.
#
# What mostly waits on the disk runs beside what mostly computes:
#   background  the readers' runtimes (.envs/, tools/test_envs.py) and the Debian packages
#   foreground  .venv, the linter, then the book build beside the tests that need neither
#   last        the tests that read the build, drive Chromium or LibreOffice, or use .envs/
# Each part's output is printed whole when it ends; the exit status fails if any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BIN=.venv/bin
LATE="browser or built or spreadsheet or runtimes"
mkdir -p _build
started=$(date +%s)
say() { echo "== make test, $(( $(date +%s) - started )) s: $*"; }
failed=()
children=()
trap 'kill "${children[@]}" 2>/dev/null' EXIT

"$PYTHON" tools/test_envs.py > _build/test-envs.log 2>&1 & envs=$!; children+=("$envs")
bash tools/system-deps.sh > _build/system-deps.log 2>&1 & deps=$!; children+=("$deps")

make --no-print-directory venv lint || { say "the virtual environment or the linter failed"; exit 1; }

# the build's own variables (quick training, static progress lines) are set by `make book`
make --no-print-directory book > _build/book.log 2>&1 & book=$!; children+=("$book")
say "book build started; the tests that need neither the build nor .envs/ run meanwhile"
NNBOOK_TRAINING=quick $BIN/python -m pytest tests -m "not ($LATE)" || failed+=("unit tests")

wait "$book" && say "book built" || failed+=("book build")
cat _build/book.log
wait "$deps" || { cat _build/system-deps.log; failed+=("system packages"); }
wait "$envs" || failed+=("readers' runtimes")
cat _build/test-envs.log
children=()

if [[ " ${failed[*]} " == *" book build "* ]]; then
  say "skipping the tests of the build: it failed"
else
  # the build has executed every chapter once; these tests read what it ran (no second execution)
  NNBOOK_TRAINING=quick $BIN/python -m pytest tests -m "$LATE" || failed+=("tests of the build and runtimes")
fi

if (( ${#failed[@]} )); then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "every part passed"
