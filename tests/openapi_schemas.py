"""Checking a JSON answer against a schema of the served OpenAPI document."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS30Validator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4


class OpenApiSchemas:
    """The document registered once; ``check`` validates a body against one of
    its schemas (local ``$ref``s resolve into the document)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource("urn:api", resource)

    def check(self, body: Any, schema: dict[str, Any]) -> None:
        """Raise jsonschema's ValidationError unless ``body`` matches ``schema``."""
        validate(body, _rebase(schema), cls=OAS30Validator, registry=self.registry)

    def response_schema(self, path: str, method: str, status: int | str) -> dict[str, Any]:
        """The JSON schema the document gives for one answer of one route."""
        operation = self.document["paths"][path][method.lower()]
        schema: dict[str, Any] = operation["responses"][str(status)]["content"]["application/json"][
            "schema"
        ]
        return schema


def _rebase(schema: Any) -> Any:
    """Point the document's local $refs at the registered copy."""
    if isinstance(schema, dict):
        return {
            k: ("urn:api" + v if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema
