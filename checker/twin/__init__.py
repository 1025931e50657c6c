"""The symbolic twin of a function: the same source, with connectives that build one z3 term.

Run on z3 values, plain Python forks on every ``and``/``or``/``not``/``in``/``all``/``any`` and
path counts multiply (a natural 2PC strengthening had 29,457 paths at 3 RMs).  The twin is
compiled from the function's syntax tree: ``a and b`` becomes ``_pp_and(a, lambda: b)``, ``x in
S`` becomes ``_pp_mem(x, S)``, if-expressions, chained comparisons and ``all/any/sum/max/min/
len`` likewise, and every call goes through ``_pp_tw`` so callees run as twins too.  Only real
``if`` statements fork.  On concrete operands every helper does exactly what Python does, so
the twin is the function; the concrete function itself is never touched (the explicit checker
and the runtime pay nothing).  ``conformance`` proves each twin z3-equivalent to the forking
run of the original.

Python that would run *differently* on z3 values is translated or refused, never left to
mean something else: ``a is b`` / ``a is not b`` become ``==`` / ``!=`` when either operand
is a symbolic leaf (on the finite values a leaf stands for -- ``None``, bools, enum members,
small ints, interned strings -- identity and equality agree); ``isinstance`` and one-argument
``type`` on a leaf, and ``str``/``repr``/``format``/``hash``/f-string formatting of anything
holding a leaf, set or list raise ``SymbolicError`` saying what to write instead.  Inside a
``raise`` or an ``assert`` message the text only ever reaches an exception, so there it
shows the leaf's debug form instead of refusing.  ``type``/``isinstance`` of a symbolic *set*
still answer the engine's class (the shipped models test ``type(net) is frozenset`` to skip a
cache); a property that depends on it is caught by conformance, not here.  The forking
original (a function without a twin) cannot be rewritten: its ``is`` stays identity.

Library code (the standard library, z3) and protoproof's own checker package are called as
they are, by design.  Any other function reached from a model gets a twin; one that cannot
(no source, a lambda or generator, a compile failure, an unbound closure variable) is called
as it is -- its branches still fork, which is sound but can explode -- and says so once: a
``TwinFallbackWarning`` plus an entry in ``fallbacks()`` / ``fallback_reason(fn)``.
Zero-argument ``super()`` is supported (the twin is compiled with a ``__class__`` cell).
"""


from .compiler import TwinFallbackWarning as TwinFallbackWarning
from .compiler import fallback_reason as fallback_reason
from .compiler import fallbacks as fallbacks
from .compiler import has_twin as has_twin
from .compiler import recording as recording
from .compiler import twin as twin

__all__ = ["TwinFallbackWarning", "fallback_reason", "fallbacks", "has_twin", "recording", "twin"]
