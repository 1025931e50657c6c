"""Loud symbolic values: the twin translates or refuses Python that would silently mean something else."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import z3

from protoproof import cli
from protoproof.checker.symbolic import (
    SymbolicError,
    SymbolicModel,
    domain,
    explore,
    fresh,
    predicate_formula,
    to_z3,
)
from protoproof.checker.twin import TwinFallbackWarning, fallback_reason, fallbacks, has_twin, recording, twin
from protoproof.checker.verdict import EXIT_MODEL_ERROR
from protoproof.models.base import always
from protoproof.models.schema import Enum, Int, OneOf, Record
from protoproof.models.tcommit import ABORTED, COMMITTED
from protoproof.models.twophase import INIT, TM, TransactionManager, TwoPhase

RED, GREEN = "red", "green"
Color = Enum("Color", RED, GREEN, "blue")


class P(NamedTuple):
    c: str
    opt: Any
    n: int


PTY = Record(P, c=Color, opt=OneOf(None, 0, 1), n=Int(0, 3))


def _formula(fn: Any) -> Any:
    x = fresh(PTY, "x")
    return x, predicate_formula(explore(twin(fn), (x,), fn.__name__, background=domain(PTY, x)))


def _same(x: Any, f: Any, g: Any) -> bool:
    s = z3.Solver()
    s.add(to_z3(domain(PTY, x)), to_z3(f) != to_z3(g))
    return s.check() == z3.unsat


# ----- SymbolicError is caught by nothing user code commonly catches --------------------------


def test_symbolic_error_is_not_a_type_value_lookup_or_arithmetic_error() -> None:
    assert not issubclass(SymbolicError, (TypeError, ValueError, LookupError, ArithmeticError))


def _swallows(s: P) -> bool:
    try:
        return len({s.c, s.n}) == 2 and s.c == RED  # hashing a leaf raises SymbolicError
    except TypeError:
        return True


def test_an_except_type_error_in_a_predicate_does_not_swallow_the_refusal() -> None:
    with pytest.raises(SymbolicError, match="hashed"):
        _formula(_swallows)


class _SwallowingTwoPhase(TwoPhase):
    @always
    def swallowed(self, s: Any) -> bool:
        try:
            return len(set(self.rm_states(s))) >= 1
        except TypeError:
            return True


def test_a_model_property_with_except_type_error_is_a_model_error_not_a_formula(
        add_protocol: Any) -> None:
    with pytest.raises(SymbolicError, match="hashed"):
        SymbolicModel(_SwallowingTwoPhase(rms=2)).predicate("swallowed", _SwallowingTwoPhase(rms=2).swallowed)
    add_protocol("twophase-swallowing", _SwallowingTwoPhase)
    code, out = _cli("prove", "twophase-swallowing", "--rms", "2", "--no-strengthening", "--property", "swallowed")
    assert code == EXIT_MODEL_ERROR and "MODEL ERROR" in out and "cannot be hashed" in out


# ----- `is` becomes == on leaves ---------------------------------------------------------------


def _is_red(s: P) -> bool:
    return s.c is RED


def _opt_is_not_none(s: P) -> bool:
    return s.opt is not None


def _chained_is(s: P) -> bool:
    return 0 < s.n is not None


@pytest.mark.parametrize(("fn", "expected"), [
    (_is_red, lambda x: x.c == RED),
    (_opt_is_not_none, lambda x: x.opt != None),  # noqa: E711 (a symbolic leaf: == builds a term)
    (_chained_is, lambda x: x.n > 0),
])
def test_is_on_a_leaf_means_equality_in_the_twin(fn: Any, expected: Any) -> None:
    x, f = _formula(fn)
    assert _same(x, f, expected(x).t)


@pytest.mark.parametrize("fn", [_is_red, _opt_is_not_none, _chained_is])
def test_is_in_the_twin_agrees_with_python_on_concrete_values(fn: Any) -> None:
    for v in PTY.values():
        assert twin(fn)(v) == fn(v)


def test_is_between_a_symbolic_set_and_a_constant_set_is_refused() -> None:
    from protoproof.models.schema import SetOf

    x = fresh(SetOf([0, 1]), "s")
    empty: frozenset[int] = frozenset()

    def same_object(s: Any) -> bool:
        return s is empty

    with pytest.raises(SymbolicError, match="compare with =="):
        explore(twin(same_object), (x,), "same_object")


# ----- type questions and text refuse, saying what to write -------------------------------------


def _isinstance_int(s: P) -> bool:
    return isinstance(s.n, int)


def _type_is_str(s: P) -> bool:
    return type(s.c) is str


def _str_text(s: P) -> bool:
    return str(s.c) == RED


def _repr_text(s: P) -> bool:
    return repr(s.opt) == "None"


def _format_text(s: P) -> bool:
    return format(s.n, "d") == "1"


def _fstring_text(s: P) -> bool:
    return f"{s.c}!" == "red!"


def _fstring_repr(s: P) -> bool:
    return f"{s.opt!r}" == "None"


def _percent_text(s: P) -> bool:
    return "%s" % s.c == RED  # noqa: UP031 (the spelling under test)


def _hashed(s: P) -> bool:
    return hash(s.c) == hash(RED)


@pytest.mark.parametrize(("fn", "says"), [
    (_isinstance_int, "isinstance cannot be decided on a z3 value"),
    (_type_is_str, "compare with == against the enum constant"),
    (_str_text, "str\\(\\)"),
    (_repr_text, "repr\\(\\)"),
    (_format_text, "format\\(\\)"),
    (_fstring_text, "f-string"),
    (_fstring_repr, "f-string"),
    (_percent_text, "compare the value itself"),
    (_hashed, "keep hashed values"),
])
def test_type_questions_and_text_of_a_leaf_are_refused_with_what_to_write(fn: Any, says: str) -> None:
    with pytest.raises(SymbolicError, match=says):
        _formula(fn)


@pytest.mark.parametrize("fn", [_isinstance_int, _type_is_str, _str_text, _repr_text, _format_text,
                                _fstring_text, _fstring_repr, _hashed])
def test_the_refusing_helpers_do_what_python_does_on_concrete_values(fn: Any) -> None:
    for v in PTY.values():
        assert twin(fn)(v) == fn(v)


def _raises_with_text(s: P) -> bool:
    if s.n > 3:  # impossible: n is Int(0, 3)
        raise ValueError(f"n = {s.n} out of range (c={str(s.c)}, {s.opt!r})")  # noqa: RUF010 (str() on purpose)
    return True


def test_text_in_an_exception_message_shows_the_leaf_instead_of_refusing() -> None:
    x, f = _formula(_raises_with_text)
    assert _same(x, f, True)


def test_the_leaf_class_refuses_str_and_format_but_keeps_repr_for_messages() -> None:
    x = fresh(PTY, "x")
    for render in (str, lambda v: f"{v}", lambda v: "{:>3}".format(v)):  # noqa: UP032
        with pytest.raises(SymbolicError):
            render(x.c)
    assert repr(x.c) == "Sym(x.c)"


# ----- fallbacks say so --------------------------------------------------------------------------


def test_a_function_without_a_twin_warns_once_with_the_reason_and_is_listed() -> None:
    ns: dict[str, Any] = {}
    exec("def made_up(s):\n    return s.c == 'red'\n", ns)  # no source file: no twin
    fn = ns["made_up"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not has_twin(fn)
        assert not has_twin(fn)
    assert [str(w.message) for w in caught if w.category is TwinFallbackWarning] == [
        f"{fn.__module__}:made_up runs without a symbolic twin (no source file (<string>)): its branches fork on z3 "
        "values, and `is`/isinstance/str on them are not translated"]
    assert fallback_reason(fn) == "no source file (<string>)"
    assert fallbacks()[f"{fn.__module__}:made_up"] == "no source file (<string>)"


def test_recording_lists_the_fallbacks_a_run_reaches_even_when_they_were_warned_about_before() -> None:
    ns: dict[str, Any] = {}
    exec("def made_up_too(s):\n    return s.n > 1\n", ns)
    inner = ns["made_up_too"]

    def outer(s: P) -> Any:
        return inner(s) and s.c == RED

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TwinFallbackWarning)
        twin(inner)
    with recording() as reached:
        _formula(outer)
    assert reached == {f"{inner.__module__}:made_up_too": "no source file (<string>)"}
    with recording() as none:
        _formula(_is_red)
    assert none == {}


def test_library_and_engine_code_is_not_a_fallback() -> None:
    from protoproof.checker.symbolic import truth

    assert fallback_reason(json.dumps) is None and not has_twin(json.dumps)
    assert fallback_reason(truth) is None and not has_twin(truth)


def test_a_model_module_named_like_a_stdlib_module_is_still_model_code(tmp_path: Path) -> None:
    import importlib.util

    path = tmp_path / "fake_model.py"
    path.write_text("def is_red(s):\n    return s.c is 'red'\n")
    spec = importlib.util.spec_from_file_location("test.fake_model", path)  # `test` is a stdlib package name
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        spec.loader.exec_module(mod)
    assert has_twin(mod.is_red)


class _Base:
    def size(self, s: P) -> Any:
        return s.n if s.c == RED else 0


class _Derived(_Base):
    def size(self, s: P) -> Any:
        return super().size(s) + 1 if s.opt is None else 0


def test_zero_argument_super_gets_a_twin() -> None:
    d = _Derived()
    assert has_twin(d.size) and fallback_reason(d.size) is None
    for v in PTY.values():
        assert twin(d.size)(v) == d.size(v)
    x = fresh(PTY, "x")
    assert len(explore(twin(d.size), (x,), "size")) == 1  # the if-expressions build one term


class _Private:
    def __init__(self) -> None:
        self.__limit = 1

    def over(self, s: P) -> Any:
        return s.n > self.__limit and s.c == RED


def test_a_method_reading_a_private_attribute_gets_a_twin_that_mangles_it_like_the_original() -> None:
    p = _Private()
    assert has_twin(p.over) and fallback_reason(p.over) is None
    for v in PTY.values():
        assert twin(p.over)(v) == p.over(v)
    x = fresh(PTY, "x")
    assert len(explore(twin(p.over), (x,), "over")) == 1


class _Texts:
    def note(self, s: P) -> Any:
        """A method's multi-line strings keep their text in the twin
        (its source is not dedented)."""
        return """red,
        indented""" if s.c == RED else ""


def test_a_twin_keeps_the_text_of_a_methods_multi_line_strings() -> None:
    t = _Texts()
    assert has_twin(t.note) and fallback_reason(t.note) is None
    for v in PTY.values():
        assert twin(t.note)(v) == t.note(v)


def _late_bound() -> tuple[Any, Any]:
    def above(s: P) -> Any:
        return s.n > limit and s.opt is None

    tw = twin(above)  # built before the closure variable is bound: it shares the cell
    limit = 1
    return above, tw


def test_a_twin_built_before_its_closure_variable_is_bound_sees_the_value_later() -> None:
    fn, tw = _late_bound()
    assert tw is not fn and fallback_reason(fn) is None
    for v in PTY.values():
        assert tw(v) == fn(v)


def _above(k: int) -> Any:
    def above(s: P) -> Any:
        return s.n > k and s.c == RED

    return above


def test_the_closures_of_one_def_share_one_compiled_twin_and_keep_their_own_values() -> None:
    a, b = _above(1), _above(2)
    ta, tb = twin(a), twin(b)
    assert ta is not a and tb is not b and ta.__code__ is tb.__code__  # compiled once, not per closure
    for v in PTY.values():
        assert ta(v) == a(v) and tb(v) == b(v)


def _imported(path: Path, source: str) -> Any:
    """A module imported from ``source`` written to ``path`` (which a test may then edit)."""
    import importlib.util

    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_function_edited_since_it_was_imported_gets_no_twin_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "edited_model.py"
    mod = _imported(path, "def is_red(s):\n    return s.c == 'red'\n")
    path.write_text("def is_red(s):\n    return s.c == 'green' or s.n > 1\n")  # the running code is the old one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TwinFallbackWarning)
        assert not has_twin(mod.is_red)
    assert "edited since it was imported" in (fallback_reason(mod.is_red) or "")


# ----- the example: 2PC without the commit guard, a property written with `is` ----------


class _NoGuardTM(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT


class _IsTwoPhase(TwoPhase):
    """The TM commits without waiting for votes; the property is spelled with `is`."""

    tm_class = _NoGuardTM

    @always
    def no_mixed_outcome(self, s: Any) -> bool:
        rms = self.rm_states(s)
        return not (any(r is ABORTED for r in rms) and any(r is COMMITTED for r in rms))


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue() + err.getvalue()


def test_a_property_written_with_is_is_not_proved_when_check_refutes_it(add_protocol: Any) -> None:
    add_protocol("twophase-is", _IsTwoPhase)
    prop = ("--property", "no_mixed_outcome")
    code, out = _cli("check", "twophase-is", "--rms", "2", *prop, "--json")
    assert code == 1 and json.loads(out)["verdict"] == "violated"
    code, out = _cli("prove", "twophase-is", "--rms", "2", "--no-strengthening", *prop, "--json")
    assert code != 0 and json.loads(out)["verdict"] != "proved", out
    code, out = _cli("bmc", "twophase-is", "--rms", "2", "--depth", "6", *prop, "--json")
    assert code == 1 and json.loads(out)["verdict"] == "violated", out


def test_conform_sees_the_twin_of_a_property_written_with_is_differ_from_its_forking_original() -> None:
    from protoproof.checker.conformance import check_twins

    results = {c.name: c.result for c in check_twins(_IsTwoPhase(rms=2))}
    assert results["no_mixed_outcome"] == "differs"  # the original's `is` is identity on z3 values: always False
    assert results["atomicity"] == "equivalent"


# ----- twins apply to an installed (non-editable) package ----------------------------------------

_INSTALLED_SCRIPT = textwrap.dedent("""
    import sys
    import protoproof
    from protoproof.checker.symbolic import instances
    from protoproof.checker.twin import fallbacks, has_twin
    from protoproof.checker.induction import prove
    from protoproof.models.paxos import Paxos
    from protoproof.models.twophase import TwoPhase
    from protoproof.proofs import strengthening_for

    assert "site-packages" in protoproof.__file__ and sys.argv[1] not in protoproof.__file__, protoproof.__file__
    for model in (TwoPhase(rms=3), Paxos()):
        missing = [repr(i.action) for i in instances(model) if not has_twin(i.concrete)]
        assert not missing, missing
    model = Paxos()
    r = prove(model, strengthening_for(model))
    assert r.verdict == "proved", r.to_lines()
    assert not fallbacks(), fallbacks()
    print("ok")
""")


def test_twins_apply_to_the_shipped_models_of_an_installed_package(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True, timeout=30).stdout.strip())
    # What `pip install .` (not -e) lays down: the package's files under the venv's site-packages.
    shutil.copytree(src, site / "protoproof", ignore=shutil.ignore_patterns(".git", "tests", "__pycache__", "*.pyc"))
    (site / "deps.pth").write_text(os.path.dirname(z3.__path__[0]) + "\n")  # z3 from the current environment
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([py, "-c", _INSTALLED_SCRIPT, str(src)], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_a_function_whose_file_was_edited_since_import_says_so(tmp_path: Path) -> None:
    """The twin is compiled from the file as it is now: edited under a running proof (lines moved),
    the function runs without one, and the reason says why rather than blaming the def."""
    from protoproof.checker.twin import compiler

    src = tmp_path / "edited_mod.py"
    mod = _imported(src, "def positive(x):\n    return x > 0\n")
    src.write_text("y = 1\n\n\ndef positive(x):\n    return x > 0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reason = compiler.fallback_reason(mod.positive)
    assert reason is not None and "edited since it was imported" in reason and "edited_mod.py:1" in reason
