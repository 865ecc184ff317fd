"""The web site: subscriber self-care and booking pages, the operator console and the JSON API
(``/api/v1``, OpenAPI at ``/api/v1/openapi.json``), served by Twisted on the box's reactor or
alone (``confcall web``).  See docs/web.md."""
from .app import WebConfig, WebSite

__all__ = ["WebConfig", "WebSite"]
