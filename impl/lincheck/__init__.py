"""Linearizability checking for any sequential specification (porcupine's algorithm in Python).

``check(spec, history)`` answers "ok", "illegal" (with a counterexample) or "unknown" (a budget ran
out); ``specs`` has a register, a compare-and-set register, a key-value map and a queue;
``formats`` reads Jepsen logs and our JSON histories.
"""

from __future__ import annotations

from .core import UNKNOWN, Counterexample, Operation, Result, Spec, check
from .formats import READERS, HistoryError, read_jepsen_etcd, read_jepsen_kv, read_json, write_json
from .specs import KV, SPECS, CasRegister, Queue, Register, Sequential

__all__ = ["KV", "READERS", "SPECS", "UNKNOWN", "CasRegister", "Counterexample", "HistoryError", "Operation",
           "Queue", "Register", "Result", "Sequential", "Spec", "check", "read_jepsen_etcd", "read_jepsen_kv",
           "read_json", "write_json"]
