"""The web service: a FastAPI app (JSON API under ``/api/`` and the page at ``/``) over one index and its model.

``create_app(settings)`` builds it; ``semspace serve --index D`` runs it with uvicorn (docs/service.md).
"""

from semspace.service.app import create_app as create_app
from semspace.service.settings import ServiceSettings as ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
