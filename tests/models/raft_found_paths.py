"""The paths the documented searches found (README "### Raft"), as ``check --json`` printed them.

Generated from the JSON of each search; each is replayed in ``test_raft_search.py``.
"""

FOUND: dict[str, list[str]] = {
    "volatile-vote": [  # election_safety, 23 steps
        "timeout(node='s3')",
        "request_vote(node='s3', j=2)",
        "deliver(src='s3', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "request_vote(node='s3', j=1)",
        "deliver(src='s3', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "timeout(node='s1')",
        "request_vote(node='s1', j=0)",
        "deliver(src='s3', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "request_vote(node='s1', j=2)",
        "restart(node='s2')",
        "deliver(src='s1', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s1', dst='s3', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "request_vote(node='s3', j=0)",
        "deliver(src='s1', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "deliver(src='s3', dst='s1', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "deliver(src='s2', dst='s3', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "request_vote(node='s1', j=1)",
        "deliver(src='s3', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=False))",
        "deliver(src='s1', dst='s2', msg=RequestVoteRequest(term=2, last_log_term=0, last_log_index=0))",
        "become_leader(node='s3')",
        "deliver(src='s2', dst='s1', msg=RequestVoteResponse(term=2, vote_granted=True))",
        "become_leader(node='s1')",
    ],
}
