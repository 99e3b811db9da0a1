"""OpenAPI post-processing: every operation documents the error responses it can give,
all in the one error shape `{"detail", "code"}` (plus `errors` for rejected uploads)."""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"description": "What is wrong, for people."},
        "code": {"type": "string", "description": "What is wrong, for programs."},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "Per-file reasons of a rejected upload."},
    },
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "Invalid input: the body says which field or file and why.",
    "401": "Not signed in, or the token is invalid or revoked.",
    "403": "Signed in, but your role does not allow this (or the CSRF token is missing).",
    "404": "No such object, or not in a project you are a member of.",
    "409": "Conflict with the current state (budget exhausted, pool empty, training already running...).",
    "429": "Too many requests (login throttling).",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                )
    return result
