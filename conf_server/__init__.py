"""The conference server: domain, REST API, configuration and composition root."""

from .app import create_app
from .settings import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]
