"""Build the OpenAPI 3.1 document served at ``GET /openapi.json``.

The document is derived from the :class:`~chalicelib.api.spec.RouteSpec`
records the edge registers and from the pydantic models they name, so the
published contract is the code's own contract rather than a hand-kept copy.

All schemas are produced by a single pydantic ``GenerateJsonSchema`` pass over
every (type, mode) pair at once. That matters for two reasons:

* a model whose validation and serialization shapes differ gets two distinct,
  consistently referenced components (``Foo-Input`` / ``Foo-Output``) instead of
  one silently overwriting the other;
* nested models are emitted once, flat, under ``components.schemas`` (pydantic's
  ``$defs`` are hoisted by construction), with references already pointing at
  ``#/components/schemas/...``.

The problem+json body (``Problem``/``ProblemField``) lives here too so the
edge can build its error answers from the very models the document describes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from chalicelib.api.spec import HTTP_METHODS, RouteSpec

__all__ = ["OPENAPI_VERSION", "Problem", "ProblemField", "build_openapi"]

OPENAPI_VERSION = "3.1.0"

_REF_PREFIX = "#/components/schemas/"
_REF_TEMPLATE = _REF_PREFIX + "{model}"
_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_SECURITY_SCHEME = "bearerAuth"
_JSON = "application/json"
_PROBLEM_JSON = "application/problem+json"
_METHOD_ORDER = {m: i for i, m in enumerate(HTTP_METHODS)}


class ProblemField(BaseModel):
    """One field-level complaint inside a problem answer."""

    field: str = Field(description="Where the problem is, e.g. `body.price` or `query.limit`.")
    message: str = Field(description="Human-readable explanation for this field.")


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error answer. A problem type may add its own members."""

    # The docstring above is published as the schema description; extra members
    # are allowed because the edge adds type-specific ones (e.g. the out-of-stock
    # item on a 409), which RFC 9457 permits.
    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI reference identifying the problem type.")
    title: str = Field(description="Short, human-readable summary of the problem type.")
    status: int = Field(ge=400, le=599, description="HTTP status code, repeated for convenience.")
    detail: str | None = Field(default=None, description="Explanation specific to this occurrence.")
    errors: list[ProblemField] = Field(
        default_factory=list, description="Per-field problems; filled for validation failures (422)."
    )


def build_openapi(
    specs: Iterable[RouteSpec], *, title: str, version: str, description: str = ""
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``specs`` as a JSON-ready dict.

    Output is deterministic for a given set of routes (paths sorted, methods in
    OpenAPI order, components sorted by name) so the served document diffs
    cleanly between deploys. Components no operation reaches (e.g. the query
    models, which are flattened into parameters) are left out.

    Raises ``ValueError`` for duplicate routes or colliding operation ids, and
    ``TypeError`` for a query model that is not an object with fields.
    """
    routes = sorted(specs, key=lambda r: (r.openapi_path, _METHOD_ORDER[r.method]))
    _check_unique(routes)

    schemas = _SchemaSet()
    schemas.add(Problem, "serialization")
    for route in routes:
        if route.body is not None:
            schemas.add(route.body, "validation")
        if route.query is not None:
            schemas.add(route.query, "validation")
        if route.response is not None:
            schemas.add(route.response, "serialization")
    schemas.generate()

    problem_ref = schemas.schema_for(Problem, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = _operation(route, schemas, problem_ref)
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = operation

    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description

    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "tags": [{"name": tag} for tag in sorted({r.tag for r in routes})],
        "paths": paths,
        "components": {
            "schemas": _reachable(paths, schemas.definitions),
            "securitySchemes": {
                _SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token returned by `POST /auth/signup` or `POST /auth/login`.",
                }
            },
        },
    }
    return doc


class _SchemaSet:
    """Collects (type, mode) pairs, then renders them all in one pydantic pass.

    One pass is what lets pydantic see every use of a model and pick
    non-clashing component names for its validation and serialization forms.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[Any, JsonSchemaMode], Any] = {}
        self._refs: dict[tuple[Any, JsonSchemaMode], dict[str, Any]] = {}
        self.definitions: dict[str, Any] = {}

    def add(self, tp: Any, mode: JsonSchemaMode) -> None:
        key = (_hashable(tp), mode)
        if key not in self._pending:
            self._pending[key] = tp

    def generate(self) -> None:
        generator = GenerateJsonSchema(by_alias=True, ref_template=_REF_TEMPLATE)
        inputs = [(key[0], key[1], _core_schema(tp)) for key, tp in self._pending.items()]
        refs, definitions = generator.generate_definitions(inputs)
        renames = _safe_names(definitions)
        self._refs = {key: _rename_refs(schema, renames) for key, schema in refs.items()}
        self.definitions = {
            renames.get(name, name): _rename_refs(schema, renames)
            for name, schema in definitions.items()
        }

    def schema_for(self, tp: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        """The schema (usually a ``$ref``) to embed wherever ``tp`` is used."""
        return copy.deepcopy(self._refs[(_hashable(tp), mode)])

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a top-level ``$ref`` to its component definition."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            return self.definitions[ref.removeprefix(_REF_PREFIX)]
        return schema


def _operation(route: RouteSpec, schemas: _SchemaSet, problem_ref: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [route.tag], "summary": route.summary}
    if route.description:
        op["description"] = route.description
    op["operationId"] = route.operation_id
    if route.auth:
        op["security"] = [{_SECURITY_SCHEME: []}]

    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path_params
    ]
    if route.query is not None:
        parameters.extend(_query_parameters(route, schemas))
    for name, required, text in route.headers:
        header: dict[str, Any] = {"name": name, "in": "header", "required": required}
        if text:
            header["description"] = text
        header["schema"] = {"type": "string"}
        parameters.append(header)
    if parameters:
        op["parameters"] = parameters

    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {_JSON: {"schema": schemas.schema_for(route.body, "validation")}},
        }

    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": _phrase(route.status)}
    if route.response is not None:
        success["content"] = {_JSON: {"schema": schemas.schema_for(route.response, "serialization")}}
    responses[str(route.status)] = success
    for code in route.error_statuses:
        responses[str(code)] = {
            "description": _phrase(code),
            "content": {_PROBLEM_JSON: {"schema": copy.deepcopy(problem_ref)}},
        }
    op["responses"] = responses
    return op


def _query_parameters(route: RouteSpec, schemas: _SchemaSet) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field of the route's query model.

    The field's JSON schema (type, bounds, enum, default) becomes the
    parameter schema; its description is lifted to the parameter, where
    documentation tools look for it.
    """
    assert route.query is not None
    model = schemas.resolve(schemas.schema_for(route.query, "validation"))
    properties = model.get("properties")
    if model.get("type") != "object" or not isinstance(properties, dict):
        raise TypeError(f"{route.method} {route.path}: query model must be an object with fields")
    required = set(model.get("required", ()))

    params: list[dict[str, Any]] = []
    for name, field_schema in properties.items():
        schema = copy.deepcopy(field_schema)
        schema.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        text = schema.pop("description", None)
        if text:
            param["description"] = text
        if schema.get("deprecated"):
            param["deprecated"] = True
        param["schema"] = schema
        params.append(param)
    return params


def _check_unique(routes: list[RouteSpec]) -> None:
    seen_routes: set[tuple[str, str]] = set()
    seen_ids: dict[str, RouteSpec] = {}
    for route in routes:
        key = (route.method, route.openapi_path)
        if key in seen_routes:
            raise ValueError(f"duplicate route {route.method} {route.path}")
        seen_routes.add(key)
        other = seen_ids.setdefault(route.operation_id, route)
        if other is not route:
            raise ValueError(
                f"operationId {route.operation_id!r} is shared by "
                f"{other.method} {other.path} and {route.method} {route.path}"
            )


def _core_schema(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.__pydantic_core_schema__
    return TypeAdapter(tp).core_schema


def _hashable(tp: Any) -> Any:
    """Key for a type: itself when hashable, else its identity."""
    try:
        hash(tp)
    except TypeError:
        return ("id", id(tp))
    return tp


def _safe_names(definitions: dict[str, Any]) -> dict[str, str]:
    """Map every component name that breaks ``^[a-zA-Z0-9._-]+$`` to a safe one.

    Pydantic already normalises generic names (``Page[ShopPublic]`` becomes
    ``Page_ShopPublic_``); this is a guard for names it passes through from
    custom ``title``/ref settings, keeping the document valid regardless.
    """
    taken = {name for name in definitions if _COMPONENT_NAME.match(name)}
    renames: dict[str, str] = {}
    for name in definitions:
        if name in taken:
            continue
        base = re.sub(r"[^a-zA-Z0-9._-]", "_", name) or "Schema"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        renames[name] = candidate
    return renames


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    """Copy of ``node`` with ``$ref`` and discriminator targets renamed."""
    if not renames:
        return node
    if isinstance(node, dict):
        return {key: _rename_ref_value(key, value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _rename_ref_value(key: str, value: Any, renames: dict[str, str]) -> Any:
    def target(ref: Any) -> Any:
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            name = ref.removeprefix(_REF_PREFIX)
            return _REF_PREFIX + renames.get(name, name)
        return ref

    if key == "$ref":
        return target(value)
    if key == "mapping" and isinstance(value, dict):
        return {k: target(v) if isinstance(v, str) else _rename_refs(v, renames) for k, v in value.items()}
    return _rename_refs(value, renames)


def _iter_refs(node: Any) -> Iterable[str]:
    """Names of the components ``node`` points at, including discriminator mappings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                yield value.removeprefix(_REF_PREFIX)
            elif key == "mapping" and isinstance(value, dict):
                for target in value.values():
                    if isinstance(target, str) and target.startswith(_REF_PREFIX):
                        yield target.removeprefix(_REF_PREFIX)
            yield from _iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _iter_refs(item)


def _reachable(paths: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Components referenced, directly or transitively, from ``paths``; sorted."""
    keep: set[str] = set()
    stack = list(_iter_refs(paths))
    while stack:
        name = stack.pop()
        if name in keep or name not in definitions:
            continue
        keep.add(name)
        stack.extend(_iter_refs(definitions[name]))
    return {name: definitions[name] for name in sorted(keep)}


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error" if code >= 400 else "Success"
