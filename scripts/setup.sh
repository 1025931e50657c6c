#!/usr/bin/env bash
# Set up a fresh machine: Debian's graphviz (the `dot` binary), chromium and chromium-driver, and
# a virtualenv in .venv holding protoproof (editable) with its test tools and Ray (the --ray tests).  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: graphviz's `dot` draws the charts; chromium and chromium-driver run the
# explorer's browser tests (headless, through Selenium: nothing is downloaded at test time).
need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "setup: ${need[*]} missing and cannot be installed without root; without graphviz graphs are" \
             "written as .dot with the command to render them, without chromium the explorer's browser" \
             "tests fail" >&2
    fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
log=$(mktemp)
if ! .venv/bin/python -m pip install -q -e '.[test,ray]' >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup: installing protoproof and its test tools failed (output above)" >&2
    exit 1
fi
rm -f "$log"
