"""Functions of the state evaluated on packed codes, cached per the code bits they read.

The scalar engine on packed codes (``models.fastpath.packed_expander``) never decodes a state
to find its successors; decoding a successor only to evaluate a property or a refinement mapping
was most of its time and memory on wide codes (a 173-bit code decodes into a frozenset of
envelopes).  A property or mapping of an actor system usually reads a few nodes and asks whether a
few messages were sent (the value an agreement protocol chose: its vote messages, 18 of 153 bits).

So such a function is run on a real state whose nodes record which ones are read
(``vector_props._Tracked``) and whose network answers ``envelope in net`` from the code's bits
and records the question; any other use of the network (iterating, hashing, ``len``...) means
the function reads all of it, and this view gives up (``None``: the caller decodes states as
before).  The value depends only on what was read (the function is deterministic and never saw
the rest), so it is cached per the dependencies' bits: node digits and message bits, which only
grow (a new one read empties the cache).  A step that leaves a refinement mapping's value
unchanged is a stutter found without decoding anything.

Why a cached value is the function's value (the soundness argument): a value is computed on a
cache miss, from the view of one code ``c``; it is cached under the bits of ``c`` that the
function read.  Another code ``c'`` with the same bits answers every read the same way, so the
deterministic function takes the same path on its view and returns the same value.  What the
view cannot intercept is a function telling it from a real state without reading it (``type(s.net)``,
``is``, ``id``): so *every* miss also runs the function on the decoded state and gives up on a
difference (the state is decoded on a miss anyway: one more call; misses are rare, a few
thousand in a run of 185,369 states, see the README).  Comparing only the first evaluations would
not do: a function that tells the view apart only on deep states (``_TellsViewsApartLate`` in
``tests/checker/test_code_view.py``) was exhausted on codes where the decoded run violates it.
What remains assumed: the function is deterministic, and one that tells the view apart returns
the real value on every miss where it does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.schema import Record, SetOf, Tuple
from .tracking import _Poison, _Read, _Tracked

#: Entries a view caches before it starts again (values per distinct dependency bits).
CACHE_LIMIT = 1 << 20


class _Grew(Exception):
    """The function read a node or a message outside the dependencies: they grew."""


class _Net(_Poison):
    """The network of a code: answers ``envelope in net`` from its bits, noting the bit asked."""

    __slots__ = ("_asked", "_bits", "_index")

    def __contains__(self, e: Any) -> bool:
        get = object.__getattribute__
        k = get(self, "_index").get(e)
        if k is None:
            return False  # not in the universe: in no network
        get(self, "_asked").add(k)
        return bool(get(self, "_bits") >> k & 1)


def _net(bits: int, index: dict[Any, int], asked: set[int]) -> _Net:
    n = object.__new__(_Net)
    setattr_ = object.__setattr__
    setattr_(n, "_bits", bits)
    setattr_(n, "_index", index)
    setattr_(n, "_asked", asked)
    return n


class CodeLayout:
    """Where a plain ``SysState``'s nodes and messages sit in its code: ``nodes + node_space * net``."""

    def __init__(self, stype: Record) -> None:
        nodes_t, net_t = stype.parts[0], stype.parts[1]
        assert isinstance(nodes_t, Tuple) and isinstance(net_t, SetOf)
        self.ns = nodes_t.size
        self.sizes = [p.size for p in nodes_t.parts]
        self.weights = list(nodes_t._radix)
        self.index = {e: k for k, e in enumerate(net_t.universe)}


class CodeView:
    """``fn(state)`` on codes, cached per the node digits and message bits it has been seen to read.

    ``value(code)`` raises ``GaveUp`` once ``fn`` uses the network otherwise than by membership;
    exceptions of ``fn`` propagate (the caller reports them on the decoded state).
    """

    def __init__(self, fn: Callable[[Any], Any], layout: CodeLayout, unpack: Callable[[int], Any],
                 verify: bool = True) -> None:
        self.fn, self.lay, self.unpack = fn, layout, unpack
        self.verify = verify  # every evaluation is compared with ``fn`` on the real state (off: tests only)
        self.nodes: list[int] = []  # the nodes read
        self.mask = 0  # the message bits asked
        self.cache: dict[int, Any] = {}

    def key(self, code: int) -> int:
        """The dependencies' bits of ``code`` as one int (equal keys: equal values)."""
        net, rest = divmod(code, self.lay.ns)
        k = net & self.mask
        w, r = self.lay.weights, self.lay.sizes
        for i in self.nodes:
            k = k * r[i] + rest // w[i] % r[i]
        return k

    def value(self, code: int) -> Any:
        if self.nodes:
            k = self.key(code)
        else:  # messages only: the key inline
            k = code // self.lay.ns & self.mask
        try:
            return self.cache[k]
        except KeyError:
            pass
        while True:
            try:
                v = self._eval(code)
                break
            except _Grew:
                self.cache.clear()
        k = self.key(code)
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        self.cache[k] = v
        return v

    def _eval(self, code: int) -> Any:
        s = self.unpack(code)
        net = divmod(code, self.lay.ns)[0]
        reads: set[int] = set()
        asked: set[int] = set()
        try:
            v = self.fn(s._replace(nodes=_Tracked(s.nodes, reads), net=_net(net, self.lay.index, asked)))
            try:
                hash(v)  # every part of the value is looked at (a node moved into it unread counts as read)
            except TypeError:
                raise GaveUp from None  # an unhashable value is not cached
        except _Read:
            raise GaveUp from None
        if self.verify and self.fn(s) != v:  # a function that tells the view from a real state
            raise GaveUp
        new_nodes = reads.difference(self.nodes)
        new_bits = sum(1 << k for k in asked) & ~self.mask
        if new_nodes or new_bits:
            self.nodes = sorted({*self.nodes, *new_nodes})
            self.mask |= new_bits
            raise _Grew
        return v


class GaveUp(Exception):
    """The function reads the network as a whole: evaluate it on decoded states."""


def code_layout_of(stype: Any) -> CodeLayout | None:
    """The layout of a plain ``SysState`` type (the packed expander's), None for any other type."""
    from ..models.actors import SysState

    if not isinstance(stype, Record) or stype.cls is not SysState or any(p.size != 1 for p in stype.parts[2:]):
        return None
    if not isinstance(stype.parts[0], Tuple) or not isinstance(stype.parts[1], SetOf):
        return None
    return CodeLayout(stype)


class Views:
    """The refinement mappings and properties of a run as ``CodeView``s (None where one gave up).

    Built only where every step check is a refinement (``@step`` properties read whole states).
    """

    def __init__(self, layout: CodeLayout, unpack: Callable[[int], Any], refinements: list[Any],
                 props: list[Any]) -> None:
        self.refs = [(r.name, r, CodeView(r.mapping, layout, unpack)) for r in refinements]
        self.props: dict[str, CodeView | None] = {p.name: CodeView(p.fn, layout, unpack) for p in props}

    def steps(self, code: int, succ: list[int]) -> list[tuple[str, Any, Any, list[Any]]] | None:
        """Per refinement: (name, check, abstract value of ``code``, those of ``succ``); None: a
        mapping raised (the caller decodes, and reports it).  Raises ``GaveUp``."""
        out = []
        try:
            for name, chk, view in self.refs:
                value = view.value
                out.append((name, chk, value(code), [value(c) for c in succ]))
        except GaveUp:
            raise
        except Exception:
            return None
        return out

    def holds(self, name: str, code: int) -> bool | None:
        """Property ``name`` on ``code``; None: decode the state (the view gave up, or it raised)."""
        view = self.props[name]
        if view is None:
            return None
        try:
            return bool(view.value(code))
        except GaveUp:
            self.props[name] = None
        except Exception:
            pass
        return None
