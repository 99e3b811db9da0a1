"""The JSON body parser of every endpoint (DRF's default parser, see settings)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DepthSafeJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit (2 KB of `[`
    is enough) is a 400 `json_too_deep` instead of a RecursionError, a 500 (issue 14 items 10/13)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.", code="json_too_deep") from None
