#!/usr/bin/env bash
# The main job: set up, check two-phase commit (and the abstract TCommit it refines), then
# find a planted bug and write its counterexample as a message sequence chart (out/cex.svg).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 2
PP=.venv/bin/protoproof
mkdir -p out
status=0
run() { echo "\$ protoproof $*"; "$PP" "$@" --quiet; echo; }

run check tcommit --rms 3 || status=1
run check twophase --rms 3 || status=1
run check twophase --rms 5 --symmetry || status=1
# A planted bug: the exit status 1 (violation found) is the expected outcome here.
echo "\$ protoproof check twophase --rms 3 --variant commit-on-majority --property atomicity --graph out/cex.svg"
"$PP" check twophase --rms 3 --variant commit-on-majority --property atomicity --graph out/cex.svg \
    --replay out/cex_replay.py --quiet
if [ $? -ne 1 ]; then echo "expected the planted bug to be found" >&2; status=1; fi
exit $status
