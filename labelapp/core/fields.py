"""Input fields shared by the APIs.

Ids are 64-bit in the database; a larger number in a body must be a 400 naming the field,
not an OverflowError (a 500) when it reaches the database (issue 14 item 5)."""

from rest_framework import serializers

MAX_ID = 2**63 - 1
#: An OpenAPI operation extension (see labelapp.api.schema): its 200 answer may be JSON `null`.
NULLABLE_RESPONSE = "x-nullable-response"
#: Counts stored in PostgreSQL `integer` columns.
MAX_INT32 = 2**31 - 1


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - used like a field class
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
