"""The paths the documented searches found (README "### Raft"), as ``check --json`` printed them.

Copied from the counterexample each search printed (``check raft --variant V`` at the variant's
defaults: breadth-first search; ``SWARMED``: swarm walks); each is replayed in
``test_raft_search.py``.  ``WALKED``: a path a seeded walk found (``--strategy random --walk-fresh
--seed 0 --walks 1000000 --walk-depth 36``, before ``--shorten`` existed), which the tests shorten.
``CONSTRAINED`` and ``BMC_CONSTRAINED``: paths breadth-first search and ``bmc`` found under a driver
constraint.
"""

FOUND: dict[str, list[str]] = {
    "stale-leader": [  # election_safety, 18 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "request_vote(node='s1', j='s1')",
        "timeout(node='s2')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "timeout(node='s2')",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
        "request_vote(node='s2', j='s1')",
        "deliver(src='s2', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s2', j='s2')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s2')",
    ],
    "volatile-vote": [  # election_safety, 18 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "request_vote(node='s1', j='s1')",
        "timeout(node='s2')",
        "timeout(node='s3')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "restart(node='s2')",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
        "request_vote(node='s3', j='s2')",
        "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s3', j='s3')",
        "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s3')",
    ],
    "no-prev-check": [  # state_machine_safety, 29 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "request_vote(node='s1', j='s1')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
        "client_request(node='s1', v=0)",
        "append_entries(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s2', dst='s1', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "advance_commit_index(node='s1')",
        "append_entries(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=1, "
        "prev_log_term=2, entries=(), commit_index=1))",
        "timeout(node='s2')",
        "deliver(src='s2', dst='s1', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "request_vote(node='s2', j='s2')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s3', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s2')",
        "append_entries(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=AppendEntriesRequest(term=3, prev_log_index=1, "
        "prev_log_term=2, entries=(), commit_index=1))",
    ],
    "vote-without-log-check": [  # leader_completeness, 25 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "timeout(node='s1')",
        "request_vote(node='s1', j='s1')",
        "timeout(node='s2')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s2', j='s2')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s2', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s2')",
        "client_request(node='s2', v=0)",
        "append_entries(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s2', dst='s3', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "timeout(node='s3')",
        "deliver(src='s3', dst='s2', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "request_vote(node='s1', j='s3')",
        "advance_commit_index(node='s2')",
        "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s1')",
    ],
}

WALKED: dict[str, list[str]] = {
    "vote-without-log-check": [  # leader_completeness, 35 steps (a seeded walk: not the shortest)
        "timeout(node='s3')",
        "request_vote(node='s3', j='s1')",
        "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "timeout(node='s2')",
        "deliver(src='s1', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s3', j='s2')",
        "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s2', j='s2')",
        "become_leader(node='s3')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=2, vote_granted=False))",
        "client_request(node='s3', v=0)",
        "append_entries(node='s3', j='s1')",
        "deliver(src='s3', dst='s1', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "timeout(node='s2')",
        "deliver(src='s3', dst='s1', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "timeout(node='s1')",
        "deliver(src='s1', dst='s3', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "request_vote(node='s2', j='s2')",
        "advance_commit_index(node='s3')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s1', j='s1')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s1', j='s2')",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=False))",
        "request_vote(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s2')",
    ],
}

#: A path swarm walks found (``--strategy swarm --walk-fresh --walks 1000000 --walk-depth 60``, seed 0),
#: shortened by delta debugging: quicker than breadth-first search, not a shortest path.
SWARMED: dict[str, list[str]] = {
    "no-prev-check": [  # state_machine_safety, 31 steps (swarm walks, shortened from 41; not proved shortest)
        "timeout(node='s3')",
        "request_vote(node='s3', j='s3')",
        "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s3', j='s1')",
        "timeout(node='s1')",
        "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s3')",
        "client_request(node='s3', v=0)",
        "append_entries(node='s3', j='s2')",
        "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
        "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
        "deliver(src='s2', dst='s3', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "advance_commit_index(node='s3')",
        "append_entries(node='s3', j='s2')",
        "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=1, "
        "prev_log_term=2, entries=(), commit_index=1))",
        "timeout(node='s2')",
        "deliver(src='s2', dst='s3', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
        "request_vote(node='s2', j='s3')",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s2', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s3', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s2', j='s2')",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=2, last_log_index=1))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s2')",
        "append_entries(node='s2', j='s1')",
        "deliver(src='s2', dst='s1', msg=AppendEntriesRequest(term=3, prev_log_index=1, "
        "prev_log_term=2, entries=(), commit_index=1))",
        "deliver(src='s2', dst='s1', msg=AppendEntriesRequest(term=3, prev_log_index=1, "
        "prev_log_term=2, entries=(), commit_index=1))",
    ],
}

#: A path breadth-first search found under a user constraint (``check --constraint``): shortest among the
#: states the constraint allows, not proved shortest overall.  figure-8's driver: one server at a time
#: stands for election, and s2 never does (the servers are interchangeable: naming s2 singles out no particular one).
CONSTRAINED: dict[str, tuple[str, list[str]]] = {
    "figure-8": (
        "sum(n.role == 'candidate' for n in s.nodes) <= 1 and s.nodes[1].role != 'candidate'",
        [  # leader_completeness, 51 steps
            "timeout(node='s1')",
            "request_vote(node='s1', j='s1')",
            "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
            "request_vote(node='s1', j='s3')",
            "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
            "become_leader(node='s1')",
            "client_request(node='s1', v=0)",
            "timeout(node='s3')",
            "request_vote(node='s3', j='s2')",
            "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=3, vote_granted=True))",
            "request_vote(node='s3', j='s3')",
            "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=3, vote_granted=True))",
            "request_vote(node='s3', j='s1')",
            "become_leader(node='s3')",
            "client_request(node='s3', v=0)",
            "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "timeout(node='s1')",
            "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s1', dst='s3', msg=RequestVoteResponse(term=4, vote_granted=False))",
            "deliver(src='s1', dst='s3', msg=RequestVoteResponse(term=4, vote_granted=False))",
            "request_vote(node='s1', j='s1')",
            "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=4, last_log_term=2, last_log_index=1))",
            "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=4, vote_granted=True))",
            "request_vote(node='s1', j='s2')",
            "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=4, last_log_term=2, last_log_index=1))",
            "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=4, last_log_term=2, last_log_index=1))",
            "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=4, vote_granted=True))",
            "become_leader(node='s1')",
            "append_entries(node='s1', j='s2')",
            "timeout(node='s3')",
            "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=4, prev_log_index=1, "
            "prev_log_term=2, entries=(), commit_index=0))",
            "deliver(src='s2', dst='s1', msg=AppendEntriesResponse(term=4, success=False, match_index=0))",
            "append_entries(node='s1', j='s2')",
            "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=4, prev_log_index=0, "
            "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
            "deliver(src='s1', dst='s2', msg=AppendEntriesRequest(term=4, prev_log_index=0, "
            "prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))",
            "deliver(src='s2', dst='s1', msg=AppendEntriesResponse(term=4, success=True, match_index=1))",
            "advance_commit_index(node='s1')",
            "request_vote(node='s3', j='s1')",
            "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=5, last_log_term=3, last_log_index=1))",
            "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=5, last_log_term=3, last_log_index=1))",
            "deliver(src='s1', dst='s3', msg=RequestVoteResponse(term=5, vote_granted=True))",
            "request_vote(node='s3', j='s3')",
            "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=5, last_log_term=3, last_log_index=1))",
            "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=5, vote_granted=True))",
            "become_leader(node='s3')",
        ],
    ),
}


#: The paths ``bmc --solver cadical --constraint TEXT`` found at the variant's defaults (README "### Raft"):
#: variant -> (the constraint, the actions); each the shortest among the states the constraint allows.
BMC_CONSTRAINED: dict[str, tuple[str, list[str]]] = {
    "vote-without-log-check": (
        "sum(n.role == 'candidate' for n in s.nodes) <= 1 and s.nodes[1].role != 'candidate'",
        [  # leader_completeness, 25 steps (breadth-first search without the constraint: 25 too)
            "timeout(node='s3')",
            "request_vote(node='s3', j='s3')",
            "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
            "request_vote(node='s3', j='s2')",
            "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
            "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
            "become_leader(node='s3')",
            "client_request(node='s3', v=0)",
            "append_entries(node='s3', j='s2')",
            "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
            'prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))',
            "deliver(src='s3', dst='s2', msg=AppendEntriesRequest(term=2, prev_log_index=0, "
            'prev_log_term=0, entries=(Entry(term=2, value=0),), commit_index=0))',
            "deliver(src='s2', dst='s3', msg=AppendEntriesResponse(term=2, success=True, match_index=1))",
            "timeout(node='s1')",
            "timeout(node='s1')",
            "request_vote(node='s1', j='s3')",
            "advance_commit_index(node='s3')",
            "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s3', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=True))",
            "request_vote(node='s1', j='s1')",
            "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
            "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=3, vote_granted=True))",
            "become_leader(node='s1')",
        ],
    ),
    "no-prev-check": (
        "sum(n.role == 'candidate' for n in s.nodes) <= 1 and s.nodes[2].role != 'candidate'",
        # state_machine_safety, 29 steps: bmc found breadth-first search's path (FOUND), step for step
        FOUND["no-prev-check"],
    ),
}
