"""Where the tool finds protocols: one declaration per protocol, no name switches elsewhere.

A protocol declares, next to its model, everything the tool needs (a ``PROTOCOL`` constant in
its module). The floor layer may not import ``proofs/`` or ``impl/``, so a declaration names
them lazily by a dotted path (``"protoproof.proofs.paxos:strengthening"``) that the layer
needing it resolves. Three sources, in this order: the built-ins (``models.BUILTIN_PROTOCOLS``),
installed packages' entry points (group ``protoproof.protocols``), and ``register()`` (tests,
embedding). A user's own model needs no registration at all: ``model_class("file.py:Class")``
or ``protocol_for("package.module:Class")`` load it, with the ``PROTOCOL`` of its module if
it declares one (how a user model brings its strengthening).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from .base import Model, where_raised

#: Installed packages register protocols here; an entry point loads to a Protocol or a Model class.
ENTRY_POINT_GROUP = "protoproof.protocols"

#: A dotted path ``"package.module:attr"`` / ``"path/to/file.py:attr"``, or the object itself
#: (handy for a class defined in a test or a user's script).
Ref = str | Callable[..., Any]


class RegistryError(ValueError):
    """A protocol or model reference that cannot be found or loaded: one line with the fix."""


@dataclass(frozen=True)
class Protocol:
    """Everything the tool knows about one protocol, each part named lazily.

    ``strengthening`` and ``twin_domain`` are functions ``model -> list of state predicates``;
    ``parameterized`` is ``prove(tie=..., model_class=..., progress=...) -> result``;
    ``prover`` is ``prove(model, tie=..., progress=...) -> result``, for a model whose properties
    z3 proves with a protocol-specific encoding at the model's size (tied to the model on every
    run) rather than by running its transitions symbolically: ``protoproof prove`` uses it;
    ``service`` an impl-layer object (the runtime). Each is a dotted path or the object.
    """

    name: str
    model: Ref
    summary: str = ""
    strengthening: Ref | None = None
    twin_domain: Ref | None = None
    parameterized: Ref | None = None
    prover: Ref | None = None
    service: Ref | None = None

    def model_class(self) -> type[Model[Any]]:
        return _as_model_class(resolve(self.model), _describe(self.model))

    def load(self, part: str) -> Any:
        """The object behind one of the lazy fields (``"strengthening"``, ...), or None."""
        ref = getattr(self, part)
        return None if ref is None else resolve(ref)


_registered: dict[str, Protocol] = {}


def register(p: Protocol) -> None:
    """Add a protocol (tests, embedding); a name already known is an error, not a shadowing."""
    if not isinstance(p, Protocol):
        raise RegistryError(f"register() takes a Protocol, not {type(p).__name__}")
    if p.name in registered():
        raise RegistryError(f"a protocol named {p.name!r} is already registered; pick another name "
                            "(or unregister() it first)")
    _registered[p.name] = p


def unregister(name: str) -> None:
    """Remove a protocol added with ``register()`` (built-ins and entry points stay)."""
    if name not in _registered:
        raise RegistryError(f"{name!r} was not added with register(); added with it: "
                            f"{', '.join(sorted(_registered)) or 'none'}")
    del _registered[name]


@contextmanager
def registration(*protocols: Protocol) -> Iterator[None]:
    """``with registration(Protocol(...)):`` the protocols are known inside the block only."""
    done: list[str] = []
    try:
        for p in protocols:
            register(p)
            done.append(p.name)
        yield
    finally:
        for name in done:
            _registered.pop(name, None)


def registered() -> dict[str, Protocol]:
    """Every known protocol by name: built-ins, then entry points, then ``register()``ed."""
    from . import BUILTIN_PROTOCOLS

    out: dict[str, Protocol] = {}
    for p in BUILTIN_PROTOCOLS:
        out[p.name] = p
    for p in _entry_point_protocols():
        if p.name in out:
            raise RegistryError(f"entry point {p.name!r} (group {ENTRY_POINT_GROUP}) clashes with a "
                                "protocol of the same name; rename the entry point")
        out[p.name] = p
    for name, p in _registered.items():
        if name in out:
            raise RegistryError(f"the protocol {name!r} added with register() clashes with an entry point of "
                                "that name; unregister() it")
        out[name] = p
    return out


def lookup(name: str) -> Protocol:
    """The protocol registered as ``name``."""
    known = registered()
    if name not in known:
        raise RegistryError(f"unknown model {name!r}; models: {', '.join(sorted(known))} "
                            "(or name your own: path/to/file.py:Class or package.module:Class)")
    return known[name]


def _entry_point_protocols() -> list[Protocol]:
    out = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name} = {ep.value} (group {ENTRY_POINT_GROUP})"
        try:
            obj = ep.load()
        except Exception as e:
            raise RegistryError(f"{where} does not load: {type(e).__name__}: {e}; fix or uninstall its "
                                "package") from None
        if isinstance(obj, Protocol):
            if obj.name != ep.name:
                raise RegistryError(f"{where} loads the protocol {obj.name!r}; name the entry point "
                                    f"{obj.name!r}")
            out.append(obj)
        elif isinstance(obj, type) and issubclass(obj, Model):
            out.append(Protocol(ep.name, obj, summary=_first_line(obj.__doc__)))
        else:
            raise RegistryError(f"{where} loads a {type(obj).__name__}; it must load a Protocol or a "
                                "Model class")
    return out


# ----- resolving dotted paths and user files ---------------------------------------------------

#: Module name given to a user file -> the file's absolute path (see ``dotted_path``).
_user_files: dict[str, str] = {}


def resolve(ref: Ref) -> Any:
    """``"pkg.mod:attr"`` or ``"path/to/file.py:attr"`` (attr may be dotted) -> the object.

    An object (not a string) is returned as it is.
    """
    if not isinstance(ref, str):
        return ref
    where, colon, attr = ref.rpartition(":")
    if not colon or not where or not attr:
        raise RegistryError(f"{ref!r}: expected module:attribute, e.g. package.module:Class or "
                            "path/to/file.py:Class")
    module = load_module(where)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RegistryError(f"{where} has no attribute {attr!r}; {_what_it_defines(module)}")
        obj = getattr(obj, part)
    return obj


def _what_it_defines(module: ModuleType) -> str:
    """Its model classes if it has any (the names a user meant), else every public name."""
    from .base import Model

    own = sorted(n for n, v in vars(module).items() if not n.startswith("_") and isinstance(v, type)
                 and issubclass(v, Model) and v is not Model and v.__module__ == module.__name__)
    if own:
        return f"its models: {', '.join(own)}"
    names = sorted(n for n in vars(module) if not n.startswith("_"))
    return f"it defines: {', '.join(names) or 'nothing'}"


def load_module(where: str) -> ModuleType:
    """Import ``package.module`` or execute ``path/to/file.py`` (once), with one-line errors."""
    if where.endswith(".py") or os.sep in where or "/" in where:
        return _load_file(where)
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        if e.name is not None and where.startswith(e.name):
            raise RegistryError(f"no module named {where!r}; is it installed or on PYTHONPATH? "
                                "(a file is named path/to/file.py)") from None
        raise RegistryError(f"importing {where} failed: {where_raised(e)}") from None
    except SyntaxError as e:
        raise RegistryError(_syntax(e)) from None
    except SystemExit as e:
        raise RegistryError(f"importing {where} called sys.exit({e.code!r}); a model's module must not exit "
                            "when imported") from None
    except Exception as e:
        raise RegistryError(f"importing {where} failed: {where_raised(e)}") from None


def _load_file(path: str) -> ModuleType:
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise RegistryError(f"{path} is a directory; name a model file in it: {path.rstrip('/')}/file.py:Class")
    if not os.path.isfile(full):
        raise RegistryError(f"no such file: {path}")
    if not full.endswith(".py"):
        raise RegistryError(f"{path}: a model file must be a Python file ending in .py")
    stem = os.path.splitext(os.path.basename(full))[0]
    name = f"protoproof_user_{stem}_{hashlib.sha1(full.encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(full)
    if folder not in sys.path:  # as `python file.py` would: its neighbours are importable
        sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses and typing look the module up while it runs
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        del sys.modules[name]
        raise RegistryError(_syntax(e)) from None
    except SystemExit as e:  # a script's `sys.exit()` at import: its status would pass for a verdict
        del sys.modules[name]
        raise RegistryError(f"{path}: importing it called sys.exit({e.code!r}); put the script's code under "
                            "`if __name__ == \"__main__\":`") from None
    except Exception as e:
        del sys.modules[name]
        raise RegistryError(f"{path}: importing it raised {where_raised(e)}") from None
    _user_files[name] = full
    return module


def _syntax(e: SyntaxError) -> str:
    return f"{e.filename}:{e.lineno}: syntax error: {e.msg}"


def dotted_path(obj: Any) -> str:
    """A reference ``resolve`` turns back into ``obj``: ``pkg.mod:Class`` or ``/abs/file.py:Class``."""
    module = obj.__module__
    qual = obj.__qualname__
    if "<locals>" in qual:
        raise RegistryError(f"{qual} is defined inside a function; it has no importable path")
    if module in _user_files:
        return f"{_user_files[module]}:{qual}"
    if module == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file:
            return f"{os.path.abspath(main_file)}:{qual}"
    return f"{module}:{qual}"


# ----- model specs: a registered name, a file or a module ----------------------------------------


def is_spec(text: str) -> bool:
    """Whether ``text`` names a model by file or module rather than by registered name."""
    return ":" in text or text.endswith(".py")


def protocol_for(spec: str) -> Protocol:
    """The protocol behind a command-line model name.

    A registered name gives its protocol. ``file.py:Class`` / ``package.module:Class`` give the
    ``PROTOCOL`` (or one of ``PROTOCOLS``) its module declares for that class, else a bare one.
    ``file.py`` alone takes the module's ``PROTOCOL``, or its only Model class.
    """
    if not is_spec(spec):
        return lookup(spec)
    where, _colon, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if not where:
        raise RegistryError(f"{spec!r}: name the file or module before the colon, e.g. path/to/file.py{spec} "
                            f"or package.module{spec}")
    module = load_module(where)
    declared = _declared(module)
    if not attr:
        if len(declared) == 1:
            return declared[0]
        own = _own_models(module)
        if len(own) != 1:
            found = ", ".join(c.__name__ for c in own) or "none"
            raise RegistryError(f"{where}: name the model class, e.g. {where}:ClassName (Model classes "
                                f"in it: {found})")
        cls = own[0]
    else:
        cls = _as_model_class(resolve(f"{where}:{attr}"), f"{where}:{attr}")
    root = root_model(cls)
    for p in declared:
        if root_model(p.model_class()) is root:
            return p if p.model_class() is cls else replace(p, model=cls)
    return Protocol(cls.name or cls.__name__, cls, summary=_first_line(cls.__doc__))


def model_class(spec: str) -> type[Model[Any]]:
    """A registered name, ``file.py:Class`` or ``package.module:Class`` -> the Model class."""
    return protocol_for(spec).model_class()


def protocol_of(model: Model[Any] | type[Model[Any]]) -> Protocol | None:
    """The protocol a model (or a subclass or variant of it) belongs to, or None.

    Walks the class's bases: the first one that a registered protocol names, or that a
    ``PROTOCOL``/``PROTOCOLS`` in its own module declares, gives the protocol.
    """
    cls = model if isinstance(model, type) else type(model)
    by_class: dict[type, Protocol] = {}
    for p in registered().values():
        by_class.setdefault(p.model_class(), p)
    for base in cls.__mro__:
        if not (isinstance(base, type) and issubclass(base, Model)) or base is Model:
            continue
        if base in by_class:
            return by_class[base]
        module = sys.modules.get(base.__module__)
        for p in _declared(module) if module is not None else []:
            if p.model_class() is base:
                return p
    return None


def _declared(module: ModuleType) -> list[Protocol]:
    one = getattr(module, "PROTOCOL", None)
    many = getattr(module, "PROTOCOLS", None)
    found = ([one] if one is not None else []) + list(many or [])
    for p in found:
        if not isinstance(p, Protocol):
            raise RegistryError(f"{module.__name__}: PROTOCOL(S) must hold Protocol values, not "
                                f"{type(p).__name__}")
    return found


def _own_models(module: ModuleType) -> list[type[Model[Any]]]:
    """Model classes defined in ``module`` that are not buggy variants of another."""
    return [v for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, Model) and v.__module__ == module.__name__
            and v.__dict__.get("variant_name") is None]


def root_model(cls: type) -> type:
    """A buggy variant's model (variants subclass it, ``with_variant`` reaches them); a model is
    its own root."""
    while getattr(cls, "variant_name", None) is not None:
        cls = next(b for b in cls.__mro__[1:] if b.__dict__.get("variant_name") is None)
    return cls


def _as_model_class(obj: Any, what: str) -> type[Model[Any]]:
    if not (isinstance(obj, type) and issubclass(obj, Model)):
        kind = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise RegistryError(f"{what} is {kind}, not a Model subclass (class X(Model) or ActorSystem)")
    return obj


def _describe(ref: Ref) -> str:
    return ref if isinstance(ref, str) else getattr(ref, "__qualname__", repr(ref))


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


__all__ = [
    "ENTRY_POINT_GROUP",
    "Protocol",
    "RegistryError",
    "dotted_path",
    "is_spec",
    "load_module",
    "lookup",
    "model_class",
    "protocol_for",
    "protocol_of",
    "register",
    "registered",
    "registration",
    "resolve",
    "root_model",
    "unregister",
    "where_raised",
]
