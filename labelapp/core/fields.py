"""Input fields shared by the APIs.

Ids are 64-bit in the database; a larger number in a body or a query parameter must be a 400
naming the field, not an OverflowError (a 500) when it reaches the database (issue 14 item 5)."""

import django_filters
from django import forms
from rest_framework import serializers

from labelapp.core.errors import ServiceError

MAX_ID = 2**63 - 1
#: An OpenAPI operation extension (see labelapp.api.schema): its 200 answer may be JSON `null`.
NULLABLE_RESPONSE = "x-nullable-response"
#: Counts stored in PostgreSQL `integer` columns.
MAX_INT32 = 2**31 - 1
#: An id's OpenAPI schema, for the places drf-spectacular cannot infer it (a filter method).
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - used like a field class
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _is_id(text: str) -> bool:
    # isdigit() alone accepts "²" and other Unicode digits that int() refuses; int() alone
    # accepts "1_000", " 7" and "-3".
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


def parse_query_id(value: str, *, name: str) -> int:
    """One id from a query parameter, or a 400 `invalid_<name>` saying what an id is."""
    if not _is_id(value):
        raise ServiceError(f"{name} must be an id: a whole number from 1 to {MAX_ID}.", code=f"invalid_{name}")
    return int(value)


def parse_query_ids(value: str, *, name: str, max_count: int) -> list[int]:
    """Comma-separated ids from a query parameter (empty parts ignored, order kept), or a 400."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) > max_count:
        raise ServiceError(f"At most {max_count} ids in {name}, got {len(parts)}.", code=f"invalid_{name}")
    if not all(_is_id(part) for part in parts):
        raise ServiceError(
            f"{name} must be comma-separated ids, each a whole number from 1 to {MAX_ID}, e.g. {name}=4,7,9.",
            code=f"invalid_{name}",
        )
    return [int(part) for part in parts]


class IdFilter(django_filters.NumberFilter):
    """A django-filter id: a whole number from 1 to MAX_ID, else a 400 naming the parameter
    (the default NumberFilter takes "-1e5000" as a Decimal that int() cannot hold)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
