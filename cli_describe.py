"""What ``protoproof list`` and ``protoproof check MODEL --help`` say about a model: its
parameters with their defaults, ranges and meanings, its properties, variants and proofs, in
plain text (docstrings' RST markup removed)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .models.base import LIVENESS, Model, ModelDefinitionError, param_range
from .models.registry import Protocol, where_raised


def plain(doc: str) -> str:
    """A docstring's first paragraph on one line, without RST markup (double or single back-quotes,
    roles)."""
    text = " ".join(doc.strip().split("\n\n")[0].split())
    text = re.sub(r":[a-z]+:`([^`]*)`", r"\1", text)
    return re.sub(r"`+([^`]*)`+", r"\1", text)


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def config_fields(cls: type[Model[Any]]) -> tuple[dataclasses.Field[Any], ...]:
    if not dataclasses.is_dataclass(cls.Config):
        raise ModelDefinitionError(f"{cls.__name__}.Config must be a frozen dataclass (@dataclass(frozen=True))")
    return dataclasses.fields(cls.Config)


def parameters(cls: type[Model[Any]]) -> list[dict[str, Any]]:
    out = []
    for f in config_fields(cls):
        row: dict[str, Any] = {"name": f.name, "option": option_name(f.name), "default": f.default,
                               "type": type(f.default).__name__}
        if f.default is None:  # an optional parameter: its type is the annotation's, and None has a meaning
            row["type"] = optional_type(f.type)
            row["default_means"] = f.metadata.get("none") or "not set"
        lo, hi = param_range(f)
        if lo is not None or hi is not None:
            row["min"], row["max"] = lo, hi
        if f.metadata.get("help"):
            row["help"] = f.metadata["help"]
        out.append(row)
    return out


def optional_type(annotation: Any) -> str:
    """``int`` for ``int | None`` (a string under ``from __future__ import annotations``)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [t.strip() for t in text.replace("Optional[", "").rstrip("]").split("|")]
    named = [t for t in parts if t not in ("None", "NoneType", "")]
    return named[0] if len(named) == 1 else text


def _range(p: dict[str, Any]) -> str:
    lo, hi = p.get("min"), p.get("max")
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}" if hi is not None else ""


def parameter_line(p: dict[str, Any]) -> str:
    """``--rms 3 (resource managers; 1..12)``; an optional parameter says what its unset default
    means (``--max-messages (default: no bound; ...)``), not ``None``, which is no value to type."""
    extra = "; ".join(x for x in (p.get("help", ""), _range(p)) if x)
    if p["default"] is None:
        return f"{p['option']} (default: {p['default_means']}" + (f"; {extra})" if extra else ")")
    return f"{p['option']} {p['default']}" + (f" ({extra})" if extra else "")


def properties(cls: type[Model[Any]]) -> list[dict[str, str]]:
    """The properties of the model at its default parameters (those decide which exist)."""
    try:
        model = cls()
    except (ModelDefinitionError, KeyboardInterrupt):
        raise
    except Exception as e:  # the author's schema() or Config raised: one line, as `check` says it
        raise ModelDefinitionError(f"building {cls.__name__} raised {where_raised(e)}") from None
    rows = [{"name": p.name, "kind": p.kind, "doc": plain(p.doc)} for p in model.properties]
    rows += [{"name": r.name, "kind": "refines", "doc": f"refines {r.abstract.display_name}"}
             for r in model.refinements()]
    return rows


def describe(p: Protocol) -> dict[str, Any]:
    """One model's entry in ``protoproof list --json``."""
    cls = p.model_class()
    variants = [
        {"name": v, "breaks": list(vc.breaks), "doc": plain(vc.__doc__ or ""),
         **({"defaults": dict(vc.variant_defaults)} if vc.variant_defaults else {})}
        for v, vc in sorted(cls.variants_of().items())
    ]
    doc = plain(p.summary or cls.__doc__ or "")
    proofs = [part for part in ("strengthening", "parameterized", "prover") if getattr(p, part) is not None]
    return {"name": p.name, "doc": doc, "parameters": parameters(cls), "properties": properties(cls),
            "variants": variants, "proofs": proofs}


def lines(r: dict[str, Any]) -> list[str]:
    """One model's entry in ``protoproof list``."""
    out = [f"{r['name']}: {r['doc']}"]
    out.append("  parameters: " + (", ".join(parameter_line(p) for p in r["parameters"]) or "none"))
    kinds: dict[str, list[str]] = {}
    for p in r["properties"]:
        kind = "liveness" if p["kind"] in LIVENESS else p["kind"]
        kinds.setdefault(kind, []).append(p["name"])
    out.append("  properties: " + "; ".join(f"{k} {', '.join(v)}" for k, v in kinds.items()))
    for v in r["variants"]:
        given = " ".join(f"{option_name(k)} {x}" for k, x in v.get("defaults", {}).items())
        out.append(f"  --variant {v['name']}: {v['doc']} (breaks {', '.join(v['breaks'])}"
                   + (f"; defaults to {given}" if given else "") + ")")
    if r["proofs"]:
        out.append(f"  proofs: {', '.join(r['proofs'])}")
    return out


def model_help(cls: type[Model[Any]], name: str, variant: str | None = None) -> str:
    """The model's section of ``check MODEL --help``: its parameters and variants; with
    ``--variant V``, the defaults V runs with (its bug's, where it has its own)."""
    variants = cls.variants_of()
    own = dict(variants[variant].variant_defaults) if variant in variants else {}
    out = [f"parameters of {name}" + (f" with --variant {variant}:" if variant in variants else ":")]
    out += [f"  {parameter_line({**p, 'default': own[p['name']]} if p['name'] in own else p)}"
            for p in parameters(cls)] or ["  none"]
    if variants:
        out.append(f"variants of {name} (--variant NAME):")
        out += [f"  {v}: {plain(vc.__doc__ or '')}" for v, vc in sorted(variants.items())]
    return "\n".join(out)
