#!/usr/bin/env bash
# Set up, then run the whole check suite: ruff, mypy and pytest.  The exhaustive runs
# marked `slow` are skipped unless --all is given (see README, "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
V=.venv/bin
echo "== ruff"
"$V/ruff" check .
echo "== mypy"
# The repository root is the package `protoproof`: give mypy a folder where it has that name.
typeroot=$(mktemp -d)
trap 'rm -rf "$typeroot"' EXIT
ln -s "$PWD" "$typeroot/protoproof"
(cd "$typeroot" && MYPYPATH="$typeroot" "$OLDPWD/$V/mypy" --config-file "$OLDPWD/pyproject.toml" -p protoproof)
echo "== pytest"
# Every node process and CLI subprocess imports the package afresh: where PYTHONDONTWRITEBYTECODE
# is set, each would compile it from source again (about 0.2 s of CPU per process).  Keep the
# bytecode in a throwaway cache outside the tree instead.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$typeroot/pycache"
# Two workers (pytest-xdist).  worksteal: each worker starts on one half of the suite in file order
# (the checker's tests on one, the runtime's real clusters mostly on the other) and takes tests from
# the other's queue when its own runs dry, so one long test does not leave a core idle at the end.
# PP_TEST_WORKERS=0 runs everything in this process.
par=(-n "${PP_TEST_WORKERS:-2}" --dist worksteal --durations=25)  # the slowest tests listed, to keep the suite short
if [ "${1:-}" = "--all" ]; then
    "$V/python" -m pytest -q "${par[@]}"
else
    "$V/python" -m pytest -q -m "not slow" "${par[@]}"
fi
