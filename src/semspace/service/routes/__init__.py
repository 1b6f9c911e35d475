"""The API's routers, one module per group: ``meta`` (health, info), ``search``, ``items``, ``translate``."""
