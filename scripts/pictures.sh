#!/usr/bin/env bash
# Regenerate the README's pictures (docs/*.svg) with the commands the README shows, so that
# they are what the tool draws today.  Run it after a change to checker/render.py or to a model
# drawn here, look at the pictures, and commit them.  Needs Graphviz's `dot` (scripts/setup.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
PP=${PROTOPROOF:-.venv/bin/protoproof}
[ -x "$PP" ] || PP=protoproof
command -v dot >/dev/null || { echo "pictures.sh: Graphviz's dot is needed (apt-get install graphviz)" >&2; exit 2; }
mkdir -p docs
status=0

# picture FILE ARGS...: `protoproof ARGS... --graph docs/FILE`; a counterexample (exit 1) is the point.
picture() {
    local file=$1; shift
    echo "docs/$file: protoproof $* --graph docs/$file"
    "$PP" "$@" --graph "docs/$file" --quiet >/dev/null
    local rc=$?
    if [ $rc -gt 1 ]; then echo "pictures.sh: exit status $rc for docs/$file" >&2; status=1; fi
}

# The README's first picture: the planted 2PC bug of scripts/demo.sh, as a sequence chart.
picture cex.svg check twophase --rms 3 --variant commit-on-majority --property atomicity
# Paxos with a planted bug: two values chosen; each step's box shows what it changed.
picture paxos.svg check paxos --variant accept-below-promise --property agreement
# A refinement violation: the title says which abstract step the concrete one would need.
picture refinement.svg check twophase --rms 3 --variant commit-on-majority --property refines_tcommit
# A state graph of a 270-state space: the path and its neighbourhood, clustered by the TM's state.
picture states.svg check twophase --rms 3 --variant commit-on-majority --property atomicity \
    --graph-kind states --cluster-by tm.state

# The ring's load imbalance (benchmarks/hashing.py's plot; needs matplotlib: pip install -e '.[bench]').
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
if "$PY" -c "import matplotlib" 2>/dev/null; then
    echo "docs/hashing.png: benchmarks/hashing.py's plot"
    "$PY" - <<'PYEOF' || status=1
import importlib.util
from pathlib import Path
spec = importlib.util.spec_from_file_location("hashing", "benchmarks/hashing.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(mod.plot(Path("docs/hashing.png")))
PYEOF
else
    echo "docs/hashing.png: left as it is (matplotlib is not installed: pip install -e '.[bench]')"
fi
exit $status
