"""A faster answer from moto's DynamoDB, byte for byte the same.

moto 5.2 writes each answer by walking botocore's output shape member by member, and every
``AttributeValue`` is a structure of ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL), each
looked up through moto's alias rules: a Query of a hundred items, or a stream read of a hundred
records with both images, costs tens of thousands of lookups. Profiled on the demo's load, the
serializer was half of the test's time.

The values moto hands the serializer are already in DynamoDB's wire format, so an attribute value
made only of strings, numbers (as strings), booleans, nulls, sets of those, lists and maps is
copied as it is. Anything else (binary values, a number that is not a string, an unknown key)
goes through moto's own code. tests/unit/test_moto_serialize.py checks the copy against moto's
own serializer on every kind of value. Only the moto test backend uses it; DynamoDB Local and AWS
are never patched.
"""

from __future__ import annotations

from typing import Any

from moto.core.serialize import BaseJSONSerializer

_original_serialize = BaseJSONSerializer._serialize
_SCALARS = {"S", "N"}
_SETS = {"SS", "NS"}


def plain(value: Any) -> Any:
    """``value`` as DynamoDB's JSON if it is made of plain parts only, else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (kind, inner), = value.items()
    if kind in _SCALARS:
        return {kind: inner} if type(inner) is str else None
    if kind == "BOOL" or kind == "NULL":
        return {kind: inner} if type(inner) is bool else None
    if kind in _SETS:
        if type(inner) is list and inner and all(type(v) is str for v in inner):
            return {kind: list(inner)}
        return None
    if kind == "M":
        if type(inner) is not dict:
            return None
        out = {}
        for key, member in inner.items():
            copied = plain(member)
            if copied is None or type(key) is not str:
                return None
            out[key] = copied
        return {"M": out}
    if kind == "L":
        if type(inner) is not list:
            return None
        items = []
        for member in inner:
            copied = plain(member)
            if copied is None:
                return None
            items.append(copied)
        return {"L": items}
    return None


def _serialize(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if key and shape.name == "AttributeValue" and shape.type_name == "structure":
        copied = plain(value)
        if copied is not None:
            serialized[self.get_serialized_name(shape, key)] = copied
            return
    _original_serialize(self, serialized, value, shape, key)


def install() -> None:
    BaseJSONSerializer._serialize = _serialize  # type: ignore[method-assign]


def uninstall() -> None:
    BaseJSONSerializer._serialize = _original_serialize  # type: ignore[method-assign]
