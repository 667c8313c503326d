#!/usr/bin/env bash
# `make test`: the book built (every chapter executed once) and every test, in two lanes, one per core.
#
#   background  the readers' runtimes (.envs/, tools/test_envs.py) and the Debian packages
#   first       .venv (pip) and the linter
#   lane 1      the book build, then the tests that read it, drive Chromium or run LibreOffice,
#               then the device tests (LANE1_UNIT, so that the lanes end together)
#   lane 2      the tests that need neither, then (once .envs/ is ready) those that run in .envs/
# Each lane runs one thread of PyTorch: two processes with two threads each on two cores spend
# their time waiting for each other. A lane's output is printed whole when it ends; the exit
# status fails if any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider --durations=10)
# the marker sets, from the Makefile (`make test`), which `make unit` uses too
BUILT=${BUILT:?"run this through make test"}
RUNTIMES=${RUNTIMES:?"run this through make test"}
# unit tests that lane 1 runs after the build's tests, so that the two lanes end together
# (lane 2 also waits for .envs/; measured: lane 1 ended about 60 s before lane 2 without them)
LANE1_UNIT=tests/test_mnist_devices.py
export NNBOOK_TRAINING=quick OMP_NUM_THREADS=1
# pip would compile all ~35,000 installed modules to bytecode (about 75 s of CPU, .venv and .envs/
# together); the tests import a tenth of them. Install without compiling, and let Python write the
# bytecode of each module the first time one is imported (which PYTHONDONTWRITEBYTECODE forbids).
unset PYTHONDONTWRITEBYTECODE
LOGS=_build/test-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
started=$(date +%s)
say() { echo "== make test, $(( $(date +%s) - started )) s: $*"; }
# each background job in a process group of its own (job control), so that an early failure or
# Ctrl-C stops the whole group, not only the subshell: pip, apt-get, the build and pytest too
set -m
stop_all() {  # the jobs still running (a finished job's group id may belong to another process by now)
  for f in "$LOGS"/*.pid; do
    [ -f "$f" ] && [ ! -f "${f%.pid}.status" ] && kill -- "-$(cat "$f")" 2>/dev/null
  done
  return 0
}
trap stop_all EXIT
trap 'exit 130' INT TERM

background() {  # name, command...: run it in the background; its exit status lands in $LOGS/name.status
  local name=$1; shift
  ( "$@" > "$LOGS/$name.log" 2>&1; status=$?
    echo "($name ended $(( $(date +%s) - started )) s after make test began)" >> "$LOGS/$name.log"
    echo $status > "$LOGS/$name.status.part" && mv "$LOGS/$name.status.part" "$LOGS/$name.status" ) &
  echo $! > "$LOGS/$name.pid"
}

await() {  # name: wait for a background job (also from a lane), print its log, succeed if it did
  while [ ! -f "$LOGS/$1.status" ] && kill -0 "$(cat "$LOGS/$1.pid")" 2>/dev/null; do sleep 1; done
  cat "$LOGS/$1.log"
  [ "$(cat "$LOGS/$1.status" 2>/dev/null)" = 0 ] || { echo "FAILED: $1"; return 1; }
}

background runtimes "$PYTHON" tools/test_envs.py
background debian bash tools/system-deps.sh

make --no-print-directory venv lint PIP_FLAGS=--no-compile || { say "the virtual environment or the linter failed"; exit 1; }
say "environment ready; two lanes start"

lane1() {
  local status=0
  # the build has executed every chapter once; its tests read what it ran (no second execution).
  # A failed build or Debian install skips only those: the unit tests after them still run.
  if ! make --no-print-directory book; then
    echo "FAILED: book build"; status=1
  elif ! await debian; then
    status=1
  else
    "${PYTEST[@]}" tests -m "$BUILT" || { echo "FAILED: tests of the build"; status=1; }
  fi
  "${PYTEST[@]}" "$LANE1_UNIT" -m "not ($BUILT or $RUNTIMES)" || { echo "FAILED: unit tests ($LANE1_UNIT)"; status=1; }
  return $status
}

lane2() {
  local status=0
  "${PYTEST[@]}" tests -m "not ($BUILT or $RUNTIMES)" --ignore="$LANE1_UNIT" || { echo "FAILED: unit tests"; status=1; }
  await runtimes || return 1
  "${PYTEST[@]}" tests -m "$RUNTIMES" || { echo "FAILED: tests in the readers' runtimes"; status=1; }
  return $status
}

background lane1 lane1
background lane2 lane2
failed=0
await lane2 || failed=1
say "lane 2 ended (unit tests, then the readers' runtimes)"
await lane1 || failed=1
say "lane 1 ended (book build, then the tests of the build)"
if (( failed )); then
  say "FAILED"
  exit 1
fi
say "every part passed"
