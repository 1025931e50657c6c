#!/usr/bin/env bash
# Regenerate docs/explorer.png: the browser test steps through the planted 2PC bug by clicking,
# and saves the page at the violation there (needs chromium and chromium-driver: scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
PROTOPROOF_EXPLORER_SCREENSHOT="$PWD/docs/explorer.png" "$PY" -m pytest -q \
    "tests/explorer/test_browser.py::test_a_2pc_counterexample_taken_by_clicking_turns_atomicity_false_and_grows_the_chart"
echo "wrote docs/explorer.png"
