"""Read a request body with a hard size limit, chunked uploads included."""

from __future__ import annotations

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge


def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 when it is over `limit` bytes.

    Werkzeug stops a chunked body (no Content-Length) at MAX_CONTENT_LENGTH and hands back the
    first bytes as if they were all: the app sets that one byte above `limit`, so a body that
    reaches it is known to be too large instead of being parsed truncated.
    """
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body
