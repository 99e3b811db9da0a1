"""OpenAPI post-processing: every operation documents the error responses it can give,
all in the one error shape `{"detail", "code"}` (plus `errors` for rejected uploads)."""

from labelapp.core.fields import NULLABLE_RESPONSE

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"description": "What is wrong, for people."},
        "code": {"type": "string", "description": "What is wrong, for programs."},
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Per-file reasons of a rejected upload.",
        },
    },
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "Invalid input: the body says which field or file and why.",
    "401": "Not signed in, or the token is invalid or revoked.",
    "403": "Signed in, but your role does not allow this (or the CSRF token is missing).",
    "404": "No such object, or not in a project you are a member of.",
    "409": "Conflict with the current state (budget exhausted, pool empty, training already running...).",
    "413": "The request body is over the size limit.",
    "415": "Unsupported body type: send JSON (multipart for the file uploads).",
    "429": "Too many requests (login throttling).",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if operation.pop(NULLABLE_RESPONSE, False):
                for media in operation["responses"].get("200", {}).get("content", {}).values():
                    media["schema"] = {"allOf": [media["schema"]], "nullable": True}
            for status, description in ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result


def add_links(result, generator, request, public):
    """OpenAPI links from each create (201) to the item routes of what it created, e.g.
    `POST .../classes` → `GET/PATCH/DELETE .../classes/{class_id}`: they document where the new
    `id` goes, and let stateful API testing chain the calls (issue 14 item 13)."""
    paths = result.get("paths", {})
    for path, path_item in paths.items():
        create = path_item.get("post")
        created = (create or {}).get("responses", {}).get("201")
        if not created:
            continue
        for item_path, item in paths.items():
            if not item_path.startswith(path) or item_path.count("{") != path.count("{") + 1:
                continue
            rest = item_path[len(path) :].strip("/")
            if not (rest.startswith("{") and rest.endswith("}")):
                continue
            parameter = rest[1:-1]
            links = created.setdefault("links", {})
            for method, operation in item.items():
                if method not in ("get", "patch", "delete") or "operationId" not in operation:
                    continue
                mapping = {name: f"$request.path.{name}" for name in _path_parameters(path)}
                mapping[parameter] = "$response.body#/id"
                links[f"{method.capitalize()}{_camel(parameter)}"] = {
                    "operationId": operation["operationId"],
                    "parameters": mapping,
                }
    return result


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))
