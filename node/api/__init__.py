"""The node's REST API (``/v1``, Esplora's shapes), ``/metrics`` and ``/healthz``.

May import aiohttp, structlog, prometheus-client (through ``node.metrics``), consensus, p2p
errors and node modules. See docs/api.md; the OpenAPI description is ``node.api.openapi``.
"""

from node.api.app import ApiServer, create_api
from node.api.settings import ApiSettings

__all__ = ["ApiServer", "ApiSettings", "create_api"]
