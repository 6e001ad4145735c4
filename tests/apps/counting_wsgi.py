"""A wsgi app for gunicorn tests: the real app plus a handler that counts its side effects."""

from bot import create_app
from tests.apps.handlers import COUNT_HANDLER

app = create_app(extra_handlers=[COUNT_HANDLER])
