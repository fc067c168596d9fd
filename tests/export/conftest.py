"""The API fixtures (an app on a fresh migrated SQLite database) of tests/api."""

from tests.api.conftest import client, settings

__all__ = ["client", "settings"]
