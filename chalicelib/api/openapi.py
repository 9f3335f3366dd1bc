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
  ``#/components/schemas/...``; an enum the models name (``type DevicePlatform =
  Literal[...]``) is one such component, whichever models use it.

Headers, parameters and problem answers that several operations share
(``Content-Language``, ``X-Request-Id``, ``Accept-Language``, ``limit``, ``shop_id``, the
429 ``rate_limited`` answer...) are written once under ``components.headers`` /
``parameters`` / ``responses`` and referenced.

The problem+json body (``Problem``/``ProblemField``) lives here too so the
edge can build its error answers from the very models the document describes.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from chalicelib.schemas.orders import OrderStatus
from chalicelib.api.spec import (ACCEPT_LANGUAGE, ETAG, HTTP_METHODS, IF_MATCH, IF_NONE_MATCH, RETRY_AFTER,
                                 X_REQUEST_ID, Header, RouteSpec)

__all__ = ["OPENAPI_VERSION", "Problem", "ProblemField", "Shortage", "build_openapi"]

OPENAPI_VERSION = "3.1.0"

_REF_PREFIX = "#/components/schemas/"
_HEADER_PREFIX = "#/components/headers/"
_PARAMETER_PREFIX = "#/components/parameters/"
_RESPONSE_PREFIX = "#/components/responses/"
_REF_TEMPLATE = _REF_PREFIX + "{model}"
_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_SECURITY_SCHEME = "bearerAuth"
_JSON = "application/json"
_PROBLEM_JSON = "application/problem+json"
_METHOD_ORDER = {m: i for i, m in enumerate(HTTP_METHODS)}
# The edge answers 404 for a path segment outside this (ids are ULIDs).
PATH_PARAM_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[0-9A-Za-z_-]+$"}
# Free-text captures (a region, a hashtag), percent-encoded in the URL; longer → 404.
TEXT_PARAM_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200}
_CONTENT_LANGUAGE = Header("Content-Language", True, "`ko` with `Accept-Language: ko` (or `ko-KR`), else `en`.",
                           {"type": "string", "enum": ["en", "ko"]})


class ProblemField(BaseModel):
    """One field-level complaint inside a problem answer."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    field: str = Field(description="Where the problem is, e.g. `body.price`, `query.limit` or `body.items.0`.")
    code: str = Field(description="What is wrong, stable for the app to switch on: `required`, `unknown_field`, "
                                  "`wrong_type`, `not_null`, `empty`, `too_short`, `too_long`, `too_few`, "
                                  "`too_many`, `pattern`, `too_small`, `too_large`, `not_allowed`, `duplicate`, "
                                  "`repeated`, `email_or_phone`, `email_xor_phone`, … (docs/errors.md).",
                      examples=["pattern"])
    message: str = Field(description="Human-readable explanation for this field, in the answer's language.")


class Shortage(BaseModel):
    """A product an order asked more of than is left."""

    product_id: str
    name: str
    requested: int
    available: int


def _members_never_null(schema: dict[str, Any]) -> None:
    """Optional members are left out when they do not apply, never sent as null: declare them
    as their plain type, without the ``None`` default the Python model uses."""
    for prop in schema.get("properties", {}).values():
        if prop.pop("default", "absent") is None:
            alternatives = [alt for alt in prop.pop("anyOf", []) if alt != {"type": "null"}]
            if len(alternatives) == 1:
                prop.update(alternatives[0])


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error answer. `code` names the kind of problem (the app
    switches on it, never on prose; docs/errors.md lists them); `title`, `detail` and field messages follow
    `Accept-Language` (`ko` or English). Some kinds add their own members, declared below."""

    # Extension members are allowed (RFC 9457); the ones the API sends are declared.
    model_config = ConfigDict(extra="allow", json_schema_extra=_members_never_null)

    type: str = Field(description="URI identifying the kind of problem, one per `code`.",
                      examples=["https://dongne.app/problems/out-of-stock"])
    code: str = Field(description="Stable machine-readable kind of problem.", examples=["out_of_stock"])
    title: str = Field(description="Short, human-readable summary of the problem kind.")
    status: int = Field(ge=400, le=599, description="HTTP status code, repeated for convenience.")
    detail: str = Field(description="Explanation specific to this occurrence.")
    errors: list[ProblemField] | None = Field(
        default=None, description="Per-field problems (`validation_failed`), each with its own `code`.")
    shortages: list[Shortage] | None = Field(
        default=None, description="`out_of_stock`: every product short, with what is left.")
    product_id: str | None = Field(default=None, description="`out_of_stock`: the first product short.")
    name: str | None = Field(default=None, description="`out_of_stock`: its name.")
    requested: int | None = Field(default=None, description="`out_of_stock`: how many were asked for.")
    available: int | None = Field(default=None, description="`out_of_stock`: how many are left.")
    order_status: OrderStatus | None = Field(
        default=None, description="`illegal_transition`, `order_changed`, `order_not_delivered`: the order's status.")
    requested_status: OrderStatus | None = Field(
        default=None, description="`illegal_transition`, `order_changed`: the status asked for.")
    review_id: str | None = Field(default=None, description="`already_reviewed`: the existing review.")
    idempotency_key: str | None = Field(default=None, description="`idempotency_key_reused`: the key.")
    stock: int | None = Field(default=None, description="`stock_changed`: the stock now.")


def build_openapi(
    specs: Iterable[RouteSpec], *, title: str, version: str, description: str = "",
    servers: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``specs`` as a JSON-ready dict.

    Output is deterministic for a given set of routes (paths sorted, methods in
    OpenAPI order, components sorted by name) so the served document diffs
    cleanly between deploys. Components no operation reaches (e.g. the query
    models, which are flattened into parameters) are left out, and so are routes
    that are not client operations (``document=False``: the document itself, its page).

    Request schemas carry no ``default``: a default is the server's business, and
    generators read one as "always present" and make the field required. The
    default is said in the field's description instead.

    Raises ``ValueError`` for duplicate routes or colliding operation ids, and
    ``TypeError`` for a query model that is not an object with fields.
    """
    routes = sorted((s for s in specs if s.document), key=lambda r: (r.openapi_path, _METHOD_ORDER[r.method]))
    _check_unique(routes)

    schemas = _SchemaSet()
    schemas.add(Problem, "serialization")
    for route in routes:
        if route.body is not None:
            schemas.add(route.body_model, "validation")
        if route.query is not None:
            schemas.add(route.query_model, "validation")
        if route.response is not None:
            schemas.add(route.response_model, "serialization")
    schemas.generate()

    problem_ref = schemas.schema_for(Problem, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = _operation(route, schemas, problem_ref)
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = operation

    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description

    shared_responses = _share_responses(paths)
    shared_headers = _share_headers(paths, shared_responses)
    shared_parameters = _share_parameters(paths)
    components = _reachable([paths, shared_responses, shared_headers, shared_parameters], schemas.definitions)
    _strip_request_defaults(paths, components)
    doc: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
    if servers:
        doc["servers"] = servers
    doc.update({
        "tags": [{"name": tag} for tag in sorted({r.tag for r in routes})],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": shared_responses,
            "parameters": shared_parameters,
            "headers": shared_headers,
            "securitySchemes": {
                _SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token returned by `POST /auth/signup` or `POST /auth/login`.",
                }
            },
        },
    })
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
    op["operationId"] = route.operation
    if route.auth:
        op["security"] = [{_SECURITY_SCHEME: []}]

    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": dict(TEXT_PARAM_SCHEMA if name in route.text_params else PATH_PARAM_SCHEMA)}
        for name in route.path_params
    ]
    if route.query is not None:
        parameters.extend(_query_parameters(route, schemas))
    headers = list(route.headers)
    if route.if_none_match:
        headers.append(IF_NONE_MATCH)
    if route.if_match:
        headers.append(IF_MATCH)
    headers.append(ACCEPT_LANGUAGE)
    for header in headers:
        param: dict[str, Any] = {"name": header.name, "in": "header", "required": header.required}
        if header.description:
            param["description"] = header.description
        param["schema"] = copy.deepcopy(header.schema)
        parameters.append(param)
    if parameters:
        op["parameters"] = parameters

    if route.body is not None:
        op["requestBody"] = {
            "required": _body_required(route.body_model),
            "content": {_JSON: {"schema": schemas.schema_for(route.body_model, "validation")}},
        }

    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": _phrase(route.status)}
    success["headers"] = _headers([*route.response_headers, *([ETAG] if route.etag else []), X_REQUEST_ID])
    if route.response is not None:
        success["content"] = {_JSON: {"schema": schemas.schema_for(route.response_model, "serialization")}}
    elif route.produces is not None:
        success["content"] = {route.produces: {"schema": {"type": "string"}}}
    responses[str(route.status)] = success
    if route.if_none_match:
        responses["304"] = {"description": "Not Modified: the `If-None-Match` ETag is still current; no body.",
                            "headers": _headers([ETAG, X_REQUEST_ID])}
    for status, codes in route.problems.items():
        problem_headers = [_CONTENT_LANGUAGE, *([RETRY_AFTER] if status in (429, 503) else []), X_REQUEST_ID]
        responses[str(status)] = {
            "description": f"{_phrase(status)}: " + ", ".join(f"`{code}`" for code in codes) + ".",
            "headers": _headers(problem_headers),
            "content": {_PROBLEM_JSON: {"schema": copy.deepcopy(problem_ref)}},
            "x-problem-codes": list(codes),
        }
    op["responses"] = responses
    return op


def _headers(headers: Iterable[Header]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for header in headers:
        entry: dict[str, Any] = {}
        if header.description:
            entry["description"] = header.description
        entry["required"] = header.required
        entry["schema"] = copy.deepcopy(header.schema)
        out[header.name] = entry
    return out


def _share_responses(paths: dict[str, Any]) -> dict[str, Any]:
    """Move every problem answer used by more than one operation (the same status, codes and
    headers) to ``components.responses``, named after its codes (``RateLimited``,
    ``AccountClosedOrUnauthorized``). Returns the components, sorted by name."""
    uses = [(op["responses"], status) for item in paths.values() for op in item.values()
            for status in op["responses"] if int(status) >= 400]
    return _share(uses, lambda _, response: "Or".join(
        "".join(word.capitalize() for word in code.split("_")) for code in response["x-problem-codes"]),
        _RESPONSE_PREFIX)


def _share_headers(paths: dict[str, Any], shared_responses: dict[str, Any]) -> dict[str, Any]:
    """Move every response header (of the operations' answers and the shared ones) to
    ``components.headers``; the answers reference it. Returns the components, sorted by name."""
    answers = [*(r for item in paths.values() for op in item.values() for r in op["responses"].values()),
               *shared_responses.values()]
    uses = [(answer["headers"], name) for answer in answers for name in answer.get("headers", {})]
    return _share(uses, lambda name, header: name, _HEADER_PREFIX, min_uses=1)


def _share_parameters(paths: dict[str, Any]) -> dict[str, Any]:
    """Move every parameter used more than once (``shop_id``, ``limit``, ``Idempotency-Key``...) to
    ``components.parameters``; the operations reference it. Returns the components, sorted by name."""
    uses = [(op["parameters"], i) for item in paths.values() for op in item.values()
            for i in range(len(op.get("parameters", ())))]
    return _share(uses, lambda _, param: param["name"], _PARAMETER_PREFIX)


def _share(uses: list[tuple[Any, Any]], name_of: Any, prefix: str, min_uses: int = 2) -> dict[str, Any]:
    """Replace each object at ``container[key]`` (for ``uses``) that is used ``min_uses`` times or more
    by a ``$ref`` to one component.

    Uses are the same thing when they are equal but for their ``description``: a component says
    the description all its uses share; where uses say different things (an ``Idempotency-Key`` for an
    order or for a subscription), each reference carries its own (OpenAPI 3.1 lets a reference's
    ``description`` stand for the component's). A component is named after the header or parameter;
    two different things of one name (not the case today) are told apart by a numeric suffix.
    """
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for container, key in uses:
        obj = container[key]
        same = json.dumps([name_of(key, obj), {k: v for k, v in obj.items() if k != "description"}], sort_keys=True)
        groups.setdefault(same, []).append((container, key))
    shared: dict[str, Any] = {}
    for same, members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        if len(members) < min_uses:
            continue
        first_container, first_key = members[0]
        base = name_of(first_key, first_container[first_key])
        name, n = base, 2
        while name in shared:
            name, n = f"{base}-{n}", n + 1
        descriptions = {container[key].get("description") for container, key in members}
        component = {k: v for k, v in first_container[first_key].items() if k != "description"}
        if len(descriptions) == 1 and None not in descriptions:
            component = {"description": descriptions.pop(), **component}
            descriptions = set()
        shared[name] = component
        for container, key in members:
            ref: dict[str, Any] = {"$ref": prefix + name}
            if descriptions and container[key].get("description"):
                ref["description"] = container[key]["description"]
            container[key] = ref
    return {name: shared[name] for name in sorted(shared)}


def _body_required(model: Any) -> bool:
    """A body is required exactly when the model refuses an empty one (``{}``), which is what
    the edge validates when no body is sent."""
    from pydantic import ValidationError

    try:
        model.model_validate({})
    except ValidationError:
        return True
    return False


def _query_parameters(route: RouteSpec, schemas: _SchemaSet) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field of the route's query model.

    The field's JSON schema (type, bounds, enum) becomes the parameter schema;
    its description is lifted to the parameter, where documentation tools look
    for it, and its default is said there too.
    """
    assert route.query is not None
    model = schemas.resolve(schemas.schema_for(route.query_model, "validation"))
    properties = model.get("properties")
    if model.get("type") != "object" or not isinstance(properties, dict):
        raise TypeError(f"{route.method} {route.path}: query model must be an object with fields")
    required = set(model.get("required", ()))

    params: list[dict[str, Any]] = []
    for name, field_schema in properties.items():
        schema = copy.deepcopy(field_schema)
        schema.pop("title", None)
        # A query parameter is sent or not; it is never null.
        alternatives = [alt for alt in schema.get("anyOf", []) if alt != {"type": "null"}]
        if "anyOf" in schema and len(alternatives) == 1:
            del schema["anyOf"]
            schema = {**alternatives[0], **schema}
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        text = _with_default(schema.pop("description", None), schema)
        if text:
            param["description"] = text
        if schema.get("deprecated"):
            param["deprecated"] = True
        param["schema"] = schema
        params.append(param)
    return params


def _with_default(text: str | None, schema: dict[str, Any]) -> str | None:
    """Take ``default`` out of ``schema``; say it in the description instead (unless null)."""
    if "default" not in schema:
        return text
    default = schema.pop("default")
    if default is None or default == [] or default == "":
        return text
    said = f"Default: `{json.dumps(default, ensure_ascii=False)}`."
    return f"{text} {said}" if text else said


def _strip_request_defaults(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """No ``default`` in the schemas a request body reaches (see ``build_openapi``)."""
    request_refs = [op["requestBody"] for item in paths.values() for op in item.values() if "requestBody" in op]
    seen: set[str] = set()
    stack = list(_iter_refs(request_refs))
    while stack:
        name = stack.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        component = components[name]
        for prop in (component.get("properties") or {}).values():
            if isinstance(prop, dict):
                text = _with_default(prop.get("description"), prop)
                if text:
                    prop["description"] = text
        stack.extend(_iter_refs(component))


def _check_unique(routes: list[RouteSpec]) -> None:
    seen_routes: set[tuple[str, str]] = set()
    seen_ids: dict[str, RouteSpec] = {}
    for route in routes:
        key = (route.method, route.openapi_path)
        if key in seen_routes:
            raise ValueError(f"duplicate route {route.method} {route.path}")
        seen_routes.add(key)
        other = seen_ids.setdefault(route.operation, route)
        if other is not route:
            raise ValueError(
                f"operationId {route.operation!r} is shared by "
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
    for name, schema in definitions.items():
        # A parametrised generic (``Page_FeedItemPublic_``) takes the name its model gives
        # itself (``Page.model_parametrized_name``: ``FeedPage``), its schema's title.
        title = schema.get("title") if isinstance(schema, dict) else None
        if name.endswith("_") and isinstance(title, str) and _COMPONENT_NAME.match(title) and title not in taken:
            taken.discard(name)
            taken.add(title)
            renames[name] = title
    for name in definitions:
        if name in renames:
            continue
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


def _reachable(paths: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """Schemas referenced, directly or transitively, from ``paths`` (and shared parameters and headers);
    sorted."""
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
