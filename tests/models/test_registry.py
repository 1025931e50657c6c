"""The protocol registry: built-ins, entry points, register(), user files and modules."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from protoproof.models import MODELS
from protoproof.models.paxos import Paxos, ProposeTwice
from protoproof.models.registry import (
    ENTRY_POINT_GROUP,
    Protocol,
    RegistryError,
    dotted_path,
    lookup,
    model_class,
    protocol_for,
    protocol_of,
    register,
    registered,
    registration,
    resolve,
)
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase
from protoproof.proofs import strengthening_for, twin_domain_for
from protoproof.tests.protocols import toy

MUTEX = Path(__file__).resolve().parents[2] / "examples" / "mutex.py"


def test_the_built_in_protocols_are_declared_beside_their_models_and_listed_first() -> None:
    assert list(registered())[:4] == ["twophase", "tcommit", "paxos", "consensus"]
    assert {name: p.model_class() for name, p in registered().items() if name in MODELS} == MODELS
    assert lookup("paxos").parameterized == "protoproof.proofs.paxos_param:prove_paxos_param"


def test_an_unknown_name_is_an_error_naming_the_choices_and_the_file_form() -> None:
    with pytest.raises(RegistryError, match=r"unknown model 'nosuch'; models: consensus, handoff, hashring, lease, "
                                            r"paxos, raft, replog, replog-nodes, tcommit, threephase, twophase \(or "
                                            r"name your own: path/to/file.py:Class"):
        lookup("nosuch")


def test_registering_a_taken_name_is_refused_and_a_registration_ends_with_its_block() -> None:
    with pytest.raises(RegistryError, match="'paxos' is already registered"):
        register(Protocol("paxos", TCommit))
    with registration(toy.PROTOCOL):
        assert lookup("toy").model_class() is toy.Toy
        with pytest.raises(RegistryError, match="already registered"):
            register(toy.PROTOCOL)
    assert "toy" not in registered()


def test_strengthenings_come_from_the_protocol_a_model_or_its_variant_belongs_to() -> None:
    assert strengthening_for(TCommit()) is None and twin_domain_for(TwoPhase()) == []
    assert len(strengthening_for(TwoPhase(rms=2)) or []) == 7
    assert len(twin_domain_for(ProposeTwice())) == len(twin_domain_for(Paxos())) == 2
    assert protocol_of(toy.ChooseTwice) is toy.PROTOCOL  # not registered: found in its module
    assert len(strengthening_for(toy.Toy()) or []) == 3


def test_resolve_reads_module_paths_file_paths_and_passes_objects_through() -> None:
    assert resolve("protoproof.models.paxos:Paxos.name") == "paxos"
    assert resolve(TwoPhase) is TwoPhase
    cls = resolve(f"{MUTEX}:Mutex")
    assert cls.__name__ == "Mutex" and resolve(f"{MUTEX}:Mutex") is cls  # loaded once
    assert dotted_path(cls) == f"{MUTEX}:Mutex" and dotted_path(TwoPhase) == "protoproof.models.twophase:TwoPhase"


def test_a_model_spec_gives_the_protocol_its_module_declares_also_for_a_variant() -> None:
    p = protocol_for(f"{MUTEX}:Mutex")
    assert p.name == "mutex" and p.strengthening is not None
    variant = protocol_for(f"{MUTEX}:CheckThenSet")
    assert variant.name == "mutex" and variant.model_class().variant_name == "check-then-set"
    assert protocol_for(str(MUTEX)).model_class() is model_class(f"{MUTEX}:Mutex")  # the file's PROTOCOL
    bare = protocol_for("protoproof.models.tcommit:TCommit")
    assert bare.model_class() is TCommit and bare.strengthening is None


def _write(tmp_path: Path, name: str, text: str) -> str:
    f = tmp_path / name
    f.write_text(textwrap.dedent(text))
    return str(f)


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: f"{d}/missing.py:Model", "no such file: {d}/missing.py"),
    (lambda d: "protoproof.models.nosuch:X", "no module named 'protoproof.models.nosuch'"),
    (lambda d: "protoproof.models.paxos:Nope", "protoproof.models.paxos has no attribute 'Nope'; its models: "
                                               "AcceptBelowPromise, IgnoreVotes, MinorityQuorums, Paxos, "),
    (lambda d: f"{d}:Model", "{d} is a directory; name a model file in it: {d}/file.py:Class"),
    (lambda d: "protoproof.models.paxos:PaxosConfig", "protoproof.models.paxos:PaxosConfig is PaxosConfig, not a "
                                                     "Model subclass"),
    (lambda d: _write(d, "broken.py", "x = 1\ndef f(:\n") + ":X", "{d}/broken.py:2: syntax error"),
    (lambda d: _write(d, "raising.py", "import nosuchmodule_pp\n") + ":X",
     "{d}/raising.py: importing it raised ModuleNotFoundError: No module named 'nosuchmodule_pp' "
     "(at {d}/raising.py:1)"),
    (lambda d: _write(d, "two.py", """\
        from protoproof.models.tcommit import TCommit
        class A(TCommit): pass
        class B(TCommit): pass
        """), "two.py: name the model class, e.g. {d}/two.py:ClassName (Model classes in it: A, B)"),
])
def test_a_bad_model_spec_is_a_one_line_error_with_the_fix(tmp_path: Path, make: Callable[[Path], str],
                                                            message: str) -> None:
    with pytest.raises(RegistryError) as e:
        model_class(make(tmp_path))
    text = str(e.value)
    assert "\n" not in text and message.format(d=tmp_path) in text, text


def _fake_distribution(root: Path, entry: str) -> None:
    """A distribution ``importlib.metadata`` finds on ``sys.path``: a dist-info folder is enough."""
    info = root / "fake_protocols-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-protocols\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry}\n")


def test_an_installed_package_adds_a_protocol_through_its_entry_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(tmp_path, "toy = protoproof.tests.protocols.toy:PROTOCOL")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert list(registered())[-1] == "toy" and lookup("toy") is toy.PROTOCOL


def test_an_entry_point_may_name_a_bare_model_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(tmp_path, "fickle = protoproof.tests.protocols.toy:Toy")
    monkeypatch.syspath_prepend(str(tmp_path))
    p = lookup("fickle")
    assert p.model_class() is toy.Toy and p.summary.startswith("A leader announces")


@pytest.mark.parametrize(("entry", "message"), [
    ("twophase = protoproof.tests.protocols.toy:Toy", "clashes with a protocol of the same name"),
    ("toy = protoproof.tests.protocols.nosuch:PROTOCOL", "does not load: ModuleNotFoundError"),
    ("toy = protoproof.tests.protocols.toy:strengthening", "loads a function; it must load a Protocol or a Model"),
    ("other = protoproof.tests.protocols.toy:PROTOCOL", "loads the protocol 'toy'; name the entry point 'toy'"),
])
def test_a_broken_entry_point_is_a_one_line_error_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, message: str) -> None:
    _fake_distribution(tmp_path, entry)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RegistryError, match="entry point") as e:
        registered()
    assert message in str(e.value) and ENTRY_POINT_GROUP in str(e.value)
