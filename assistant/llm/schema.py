"""Registry → JSON Schema of a plan → GBNF grammar for llama.cpp.

The grammar is generated here, from the schema, by our own converter for the small subset of JSON
Schema we emit. Anything outside that subset raises `SchemaNotExpressible` at start-up: there is
no path on which an unsupported keyword quietly becomes an unconstrained grammar (the failure mode
of llama.cpp's generic converter). What the grammar fixes: the exact shape, key order, tool names,
enum values, string and list lengths, and numeric bounds (digit by digit, see numeric_grammar.py).
What it cannot fix, whether a reference names a real file, is checked by plan validation, which
gets one repair attempt.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, fields
from typing import Any, Literal, get_args, get_origin

from ..store.session import Artifact
from .numeric_grammar import decimal_range, integer_range

REF_DOC = 'a file: "@a3" (artifact), "@last" (newest), "$1" (output of step 1) or a workspace file name'
DEFAULT_MAX_LENGTH = 200
# A file reference: "@a3", "$1" or a file name. Longer names are still reachable as "@a3"; the bound
# keeps the longest possible plan (grammar_bound.py) small enough for the context.
REF_MAX_LENGTH = 80
DEFAULT_MAX_ITEMS = 8


class SchemaNotExpressible(RuntimeError):
    """The schema uses a construct the grammar generator does not support: a bug, found at start-up."""


# -- Args dataclass → JSON schema ------------------------------------------------------------
def field_schema(tp: Any, meta: dict) -> dict:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) != 1:
            raise SchemaNotExpressible(f"union {tp} is not supported in tool arguments")
        return field_schema(options[0], meta)
    doc = meta.get("doc")
    out: dict[str, Any]
    if tp is Artifact:
        out = {"type": "string", "maxLength": meta.get("max_length", REF_MAX_LENGTH), "x-ref": True}
        doc = doc or REF_DOC
    elif origin is list:
        (item,) = get_args(tp)
        out = {
            "type": "array",
            "items": field_schema(item, {}),
            "minItems": meta.get("min_items", 1),
            "maxItems": meta.get("max_items", DEFAULT_MAX_ITEMS),
        }
    elif origin is Literal:
        values = list(get_args(tp))
        if not all(isinstance(v, str) for v in values):
            raise SchemaNotExpressible(f"Literal {tp}: only string choices are supported")
        out = {"type": "string", "enum": values}
    elif tp is bool:
        out = {"type": "boolean"}
    elif tp is int:
        out = {"type": "integer"}
    elif tp is float:
        out = {"type": "number"}
    elif tp is str:
        out = {"type": "string", "maxLength": meta.get("max_length", DEFAULT_MAX_LENGTH)}
        if "grammar" in meta:
            out["x-grammar"] = meta["grammar"]
    else:
        raise SchemaNotExpressible(f"argument type {tp!r} is not supported")
    if "min" in meta:
        out["minimum"] = meta["min"]
    if "max" in meta:
        out["maximum"] = meta["max"]
    if doc:
        out["description"] = doc
    return out


def args_schema(args_type: type) -> dict:
    hints = typing.get_type_hints(args_type)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in fields(args_type):
        schema = field_schema(hints[f.name], dict(f.metadata))
        if f.default is not MISSING:
            schema["default"] = f.default
        elif f.default_factory is MISSING:  # type: ignore[misc]
            required.append(f.name)
        props[f.name] = schema
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def plan_schema(registry, max_steps: int, max_say_chars: int) -> dict:
    steps = []
    for tool in registry:
        steps.append(
            {
                "type": "object",
                "properties": {"tool": {"const": tool.name}, "args": args_schema(tool.args_type)},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
        )
    # Two shapes, and "say" comes first in both: a small model that must open with "steps" reaches
    # for a tool even when the request is conversation; opening with the reply decides that first.
    # An answer has text and no steps; work has steps and "say": null (the reply is then what the
    # tools report). So once a plan opens with `{"say":"`, it can be spoken while it is generated.
    answer = {
        "type": "object",
        "properties": {
            "say": {"type": "string", "minLength": 1, "maxLength": max_say_chars},
            "steps": {"type": "array", "maxItems": 0},
        },
        "required": ["say", "steps"],
        "additionalProperties": False,
    }
    work = {
        "type": "object",
        "properties": {
            "say": {"type": "null"},
            "steps": {"type": "array", "items": {"anyOf": steps}, "minItems": 1, "maxItems": max_steps},
        },
        "required": ["say", "steps"],
        "additionalProperties": False,
    }
    return {"anyOf": [answer, work]}


def strip_extensions(schema: Any) -> Any:
    """The schema without our private `x-` keys, for standard validators and for display."""
    if isinstance(schema, dict):
        return {k: strip_extensions(v) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [strip_extensions(v) for v in schema]
    return schema


# -- JSON schema → GBNF ----------------------------------------------------------------------
_HANDLED = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "maxLength",
    "minLength",
    "enum",
    "const",
    "anyOf",
    "description",
    "default",
    "minimum",
    "maximum",
    "x-ref",
    "x-grammar",
}

# Strings hold printable ASCII without quotes or backslashes: one byte a character, so the longest
# plan the grammar allows is a hard bound on the tokens it needs (grammar_bound.py). A plan has no use
# for escapes; names outside ASCII are reachable as "@a3".
_PRIMITIVES = r'''
ws ::= [ ]?
char ::= [\x20\x21\x23-\x5B\x5D-\x7E]
boolean ::= "true" | "false"
null ::= "null"
integer ::= "-"? ([0-9] | [1-9] [0-9]{0,9})
number ::= "-"? ([0-9] | [1-9] [0-9]{0,9}) ("." [0-9]{1,6})?
'''


class _GrammarBuilder:
    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        name = "".join(c if c.isalnum() else "-" for c in name).strip("-") or "r"
        base, n = name, 1
        while name in self.rules and self.rules[name] != body:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        return name

    def visit(self, schema: dict, name: str) -> str:
        unknown = set(schema) - _HANDLED
        if unknown:
            raise SchemaNotExpressible(f"{name}: JSON schema keywords {sorted(unknown)} are not supported")
        if "const" in schema:
            return self.add(name, _literal(json.dumps(schema["const"])))
        if "anyOf" in schema:
            alts = [self.visit(s, f"{name}-{i}") for i, s in enumerate(schema["anyOf"])]
            return self.add(name, " | ".join(alts))
        kind = schema.get("type")
        if "enum" in schema:
            return self.add(name, " | ".join(_literal(json.dumps(v)) for v in schema["enum"]))
        if kind == "object":
            return self._object(schema, name)
        if kind == "array":
            lo, hi = schema.get("minItems", 0), schema.get("maxItems")
            if hi is None:
                raise SchemaNotExpressible(f"{name}: arrays need maxItems")
            if hi == 0:
                return self.add(name, '"[" ws "]"')
            item = self.visit(schema["items"], f"{name}-item")
            rest = f'("," ws {item} ws){{{max(lo - 1, 0)},{hi - 1}}}'
            body = f'"[" ws {item} ws {rest} "]"'
            if lo == 0:
                body += ' | "[" ws "]"'
            return self.add(name, body)
        if kind == "string" and schema.get("x-ref"):
            # A file reference is exactly "@aN", "@last", "$N" or a file name that does not start with
            # "@" or "$": the model cannot write "@a4 memo.wav" (copying a line of the file table).
            limit = int(schema.get("maxLength", DEFAULT_MAX_LENGTH))
            return self.add(
                "file-ref",
                '"\\"" ("@a" [1-9] [0-9]{0,4} | "@last" | "$" [1-9] | '
                f'[\\x20\\x21\\x23\\x25-\\x3F\\x41-\\x5B\\x5D-\\x7E] char{{0,{limit - 1}}}) "\\""',
            )
        if kind == "string" and "x-grammar" in schema:
            # A string with a notation of its own (sing's notes): the model can only write that
            # notation, so lyrics cannot end up where the notes go. The body is GBNF in the bounded
            # subset grammar_bound.py reads; its longest output replaces maxLength as the bound.
            return self.add(name, f'"\\"" ({schema["x-grammar"]}) "\\""')
        if kind == "string":
            if "maxLength" not in schema:
                raise SchemaNotExpressible(f"{name}: strings need maxLength (or generation can run away)")
            lo = int(schema.get("minLength", 0))
            return self.add(name, f'"\\"" char{{{lo},{int(schema["maxLength"])}}} "\\""')
        if kind in ("integer", "number"):
            bounds = ("minimum" in schema, "maximum" in schema)
            if bounds == (False, False):
                return kind
            if bounds != (True, True):
                raise SchemaNotExpressible(f"{name}: give numbers both a minimum and a maximum, or neither")
            lo, hi = schema["minimum"], schema["maximum"]
            try:
                body = integer_range(int(lo), int(hi)) if kind == "integer" else decimal_range(lo, hi)
            except ValueError as exc:
                raise SchemaNotExpressible(f"{name}: {exc}") from exc
            return self.add(name, body)
        if kind in ("boolean", "null"):
            return kind
        raise SchemaNotExpressible(f"{name}: type {kind!r} is not supported")

    def _object(self, schema: dict, name: str) -> str:
        if schema.get("additionalProperties", True) is not False:
            raise SchemaNotExpressible(f"{name}: objects must set additionalProperties: false")
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if not set(required) <= set(props):
            raise SchemaNotExpressible(f"{name}: required names a property that does not exist")
        parts = []
        for key, sub in props.items():
            value = self.visit(sub, f"{name}-{key}")
            parts.append((key in required, f'{_literal(json.dumps(key))} ws ":" ws {value}'))
        # Keys in declared order; optional ones may be left out. Each alternative picks which key
        # comes first, so no alternative can start with a stray comma.
        alternatives = []
        for first in range(len(parts)):
            if any(req for req, _ in parts[:first]):
                break
            seq = [parts[first][1]]
            for req, kv in parts[first + 1 :]:
                seq.append(f'"," ws {kv}' if req else f'("," ws {kv})?')
            alternatives.append(" ".join(seq))
        if not any(req for req, _ in parts):
            alternatives.append("")
        inner = " | ".join(f"({a})" if a else '""' for a in alternatives) if alternatives else '""'
        return self.add(name, f'"{{" ws ({inner}) ws "}}"')


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def schema_to_gbnf(schema: dict) -> str:
    builder = _GrammarBuilder()
    top = builder.visit(schema, "plan")
    lines = [f"root ::= {top}"] + [f"{k} ::= {v}" for k, v in builder.rules.items()]
    return "\n".join(lines) + _PRIMITIVES
