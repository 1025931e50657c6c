"""The paths the documented searches found (README "### Raft"), as ``check --json`` printed them.

Generated from the JSON of each search (``check raft --variant V --json``, breadth-first at the
variant's defaults); each is replayed in ``test_raft_search.py``.
"""

FOUND: dict[str, list[str]] = {
    "stale-leader": [  # election_safety, 18 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "request_vote(node='s1', j=0)",
        "timeout(node='s2')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j=1)",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "timeout(node='s2')",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
        "request_vote(node='s2', j=0)",
        "deliver(src='s2', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s1', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "request_vote(node='s2', j=1)",
        "deliver(src='s2', dst='s2', msg=RequestVoteRequest(term=3, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s2', msg=RequestVoteResponse(term=3, vote_granted=True))",
        "become_leader(node='s2')",
    ],
    "volatile-vote": [  # election_safety, 18 steps (breadth-first: shortest within the bounds)
        "timeout(node='s1')",
        "request_vote(node='s1', j=0)",
        "timeout(node='s2')",
        "timeout(node='s3')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j=1)",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "restart(node='s2')",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
        "request_vote(node='s3', j=1)",
        "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s3', j=2)",
        "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s3')",
    ],
}
