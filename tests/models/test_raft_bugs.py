"""Raft's planted bugs: each breaks its property on a scenario that the correct Raft refuses.

The scenarios are written step by step (``SCENARIOS``), at each variant's defaults; the bugs a search
finds are in ``test_raft_search.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.path import Path, replay
from protoproof.models.base import Action
from protoproof.models.raft import Raft

KINDS = {"RVQ": "RequestVoteRequest", "RVP": "RequestVoteResponse", "AEQ": "AppendEntriesRequest",
         "AEP": "AppendEntriesResponse"}
VERBS = {"timeout": "timeout", "rv": "request_vote", "lead": "become_leader", "client": "client_request",
         "commit": "advance_commit_index", "ae": "append_entries", "restart": "restart"}


def _matches(a: Action, words: list[str]) -> bool:
    args = dict(a.args)
    if words[0] == "recv":
        src, dst, kind = words[1:]
        return (a.name == "deliver" and args["src"] == src and args["dst"] == dst
                and type(args["msg"]).__name__ == KINDS[kind])
    if a.name != VERBS[words[0]] or args["node"] != words[1]:
        return False
    if words[0] in ("rv", "ae"):
        return args["j"] == words[2]
    return True


def run(model: Raft, script: str) -> Path:
    """The path of the steps in ``script`` ("timeout s1; rv s1 s1; recv s1 s1 RVQ; lead s1; ..."), each
    the one enabled action it names."""
    state, actions = model.initial_states()[0], []
    for k, step in enumerate(s.strip() for s in script.split(";") if s.strip()):
        found = [a for a, _t in model.successors(state) if _matches(a, step.split())]
        assert len(found) == 1, f"step {k + 1} {step!r}: enabled {found}"
        actions.append(found[0])
        nxt = model.step(state, found[0])
        assert nxt is not None
        state = nxt
    return replay(model, actions)


def elect(leader: str, voter: str, term_steps: str = "") -> str:
    """``leader`` times out (``term_steps``: extra timeouts first), votes for itself, wins ``voter``'s vote."""
    return (f"{term_steps} timeout {leader}; rv {leader} {leader}; recv {leader} {leader} RVQ; "
            f"recv {leader} {leader} RVP; rv {leader} {voter}; recv {leader} {voter} RVQ; recv {leader} {voter} RVQ; "
            f"recv {voter} {leader} RVP; lead {leader};")


def elect_known(leader: str, voter: str) -> str:
    """As ``elect``, where ``voter`` already is in the candidate's term (no UpdateTerm step)."""
    return (f"rv {leader} {leader}; recv {leader} {leader} RVQ; recv {leader} {leader} RVP; rv {leader} {voter}; "
            f"recv {leader} {voter} RVQ; recv {voter} {leader} RVP; lead {leader};")


REPLICATE_AND_COMMIT = "client s1; ae s1 s2; recv s1 s2 AEQ; recv s1 s2 AEQ; recv s2 s1 AEP; commit s1;"

SCENARIOS: dict[str, tuple[str, str, str]] = {
    # variant: (property, the steps up to the one that breaks it, that step)
    "stale-leader": ("election_safety",
                     elect("s1", "s2") + "timeout s2; rv s2 s2; recv s2 s2 RVQ; recv s2 s2 RVP; rv s2 s1; "
                     "recv s2 s1 RVQ; recv s2 s1 RVQ; recv s1 s2 RVP;", "lead s2"),
    "volatile-vote": ("election_safety",
                      "timeout s2;" + elect("s1", "s3") + "restart s3;" + elect_known("s2", "s3")[:-len(" lead s2;")],
                      "lead s2"),
    "vote-without-log-check": ("leader_completeness",
                               elect("s1", "s2") + REPLICATE_AND_COMMIT
                               + elect("s3", "s2", "timeout s3;")[:-len(" lead s3;")], "lead s3"),
    "no-prev-check": ("state_machine_safety",
                      elect("s1", "s2") + REPLICATE_AND_COMMIT + "ae s1 s2; recv s1 s2 AEQ; recv s2 s1 AEP;"
                      + elect("s2", "s3") + "ae s2 s3;", "recv s2 s3 AEQ"),
    # Without restarts (the variant's default) a leader steps down on a message of a later term;
    # each message is received before the next is sent (one in flight at a time).  Term 2: s1
    # leads and appends (2,0); term 3: s3 leads with s2's vote, tells s1 its term, appends (3,0);
    # term 4: s1 leads again, repairs s2's log and commits (2,0), an entry of term 2 (the bug),
    # then tells s3 its term; term 5: s3, whose last entry (3,0) is newer, wins s2's vote.
    "figure-8": ("leader_completeness",
                 elect("s1", "s2") + "client s1;"
                 + elect("s3", "s2", "timeout s3;")[:-len(" lead s3;")]
                 + " rv s3 s1; recv s3 s1 RVQ; recv s3 s1 RVQ; recv s1 s3 RVP; lead s3; client s3;"
                 + elect("s1", "s2")
                 + "ae s1 s2; recv s1 s2 AEQ; recv s2 s1 AEP; ae s1 s2; recv s1 s2 AEQ; recv s1 s2 AEQ; "
                 "recv s2 s1 AEP; commit s1; ae s1 s3; recv s1 s3 AEQ; recv s1 s3 AEQ; recv s3 s1 AEP;"
                 + elect("s3", "s2")[:-len(" lead s3;")], "lead s3"),
}


@pytest.mark.parametrize("variant", sorted(SCENARIOS))
def test_a_planted_bug_breaks_its_property_where_raft_does_not(variant: str) -> None:
    prop, before, last = SCENARIOS[variant]
    buggy = Raft.variants_of()[variant]()  # at its own default sizes
    assert isinstance(buggy, Raft)
    assert prop in buggy.breaks
    path = run(buggy, before + last)
    check = getattr(buggy, prop)
    assert all(check(s) for s in path.states[:-1]) and not check(path.last)
    # The correct Raft refuses the last step or keeps the property; it never breaks it.
    correct = Raft(**_params(buggy))
    state: Any = None
    try:
        state = run(correct, before + last).last
    except AssertionError:
        return  # the scenario is not a run of the correct protocol
    assert getattr(correct, prop)(state)


def _params(model: Raft) -> dict[str, Any]:
    c = model.config
    return {f: getattr(c, f) for f in ("servers", "values", "max_term", "max_log", "max_copies", "max_messages",
                                       "max_entries", "lossy", "duplicating", "restarts")}
