"""Reading the OpenAPI document as a client does: shared answers, parameters and headers
(``components.responses`` / ``parameters`` / ``headers``) put back where they are referenced."""

from __future__ import annotations

import copy
from typing import Any

_SHARED = ("#/components/responses/", "#/components/parameters/", "#/components/headers/")


def target(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline_shared(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` whose operations carry their answers, parameters and headers in full (a
    reference's own ``description`` standing for its target's, as OpenAPI 3.1 says); schema
    references stay references."""

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SHARED):
                found = expand(copy.deepcopy(target(doc, ref)))
                if "description" in node:
                    found = {"description": node["description"], **{k: v for k, v in found.items()
                                                                    if k != "description"}}
                return found
            return {key: expand(value) for key, value in node.items()}
        if isinstance(node, list):
            return [expand(item) for item in node]
        return node

    flat = copy.deepcopy(doc)
    flat["paths"] = expand(doc["paths"])
    return flat


def validator(doc: dict[str, Any], schema: str) -> Any:
    """A JSON Schema (2020-12) validator for the component ``schema`` of ``doc``, its references
    resolved inside ``doc`` (``discriminator`` and the other OpenAPI words are annotations)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource("urn:openapi", Resource.from_contents(doc, DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:openapi#/components/schemas/{schema}"}, registry=registry)
