"""The runtime: the model's very node handlers as real nodes over TCP, with sqlite durability.

Embed a node with ``Host`` (the sans-I/O handlers plus effect interpretation) and a
``Transport``, or use the services: ``KVNode``/``KVClient`` (Paxos KV) and ``TxNode``/``TxClient``
(2PC).  ``validate`` replays recorded traces through the model; ``linearizability.check``
checks client histories.
"""

from __future__ import annotations

from .client import Endpoint, NoReply
from .cluster import ClusterConfig, load_cluster, new_cluster
from .codec import Codec, Frame, FrameError, Text
from .faults import FaultInjector, FaultPlan
from .host import Host, Tracer
from .kv import KVClient, KVNode, paxos_cluster
from .launcher import Cluster
from .linearizability import Op, check
from .service import Service
from .storage import Store
from .transport import Transport
from .tx import DurableTwoPhase, TxClient, TxNode, twophase_cluster
from .validate import validate

__all__ = [
    "Cluster",
    "ClusterConfig",
    "Codec",
    "DurableTwoPhase",
    "Endpoint",
    "FaultInjector",
    "FaultPlan",
    "Frame",
    "FrameError",
    "Host",
    "KVClient",
    "KVNode",
    "NoReply",
    "Op",
    "Service",
    "Store",
    "Text",
    "Tracer",
    "Transport",
    "TxClient",
    "TxNode",
    "check",
    "load_cluster",
    "new_cluster",
    "paxos_cluster",
    "twophase_cluster",
    "validate",
]
