"""The runtime: the model's very node handlers as real nodes over TCP, with sqlite durability.

Embed a node with ``Host`` (the sans-I/O handlers plus effect interpretation) and a
``Transport``, or use a protocol's service: each registered protocol with a runtime declares a
``ServiceSpec`` in its own runtime module, and that module's public names (``KVClient``,
``TxNode``, ...) are importable from here too.  ``validate`` replays recorded traces through
the model; ``linearizability.check`` checks our key-value client histories, ``lincheck.check`` any
history against a sequential specification (porcupine's algorithm).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .client import Endpoint, NoReply
from .cluster import ClusterConfig, load_cluster, new_cluster
from .codec import Codec, Frame, FrameError, Text
from .faults import FaultInjector, FaultPlan
from .host import Host, Tracer
from .linearizability import Op, check
from .service import ClientCommand, Option, Service, ServiceSpec, known_specs, spec_for
from .storage import Store
from .transport import Transport
from .validate import validate

if TYPE_CHECKING:  # imported on first use: ``python -m protoproof.impl.launcher`` runs it as __main__, and a
    from .launcher import Cluster  # copy imported here first made every node.log open with a RuntimeWarning


def __getattr__(name: str) -> Any:
    """A service module's public name (``from protoproof.impl import KVClient``), found through the
    registry rather than named here."""
    if name == "Cluster":
        from .launcher import Cluster

        return Cluster
    if not name.startswith("_"):
        for spec in known_specs():
            module = sys.modules[spec.node.__module__]
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClientCommand",
    "Cluster",
    "ClusterConfig",
    "Codec",
    "Endpoint",
    "FaultInjector",
    "FaultPlan",
    "Frame",
    "FrameError",
    "Host",
    "NoReply",
    "Op",
    "Option",
    "Service",
    "ServiceSpec",
    "Store",
    "Text",
    "Tracer",
    "Transport",
    "check",
    "known_specs",
    "load_cluster",
    "new_cluster",
    "spec_for",
    "validate",
]
